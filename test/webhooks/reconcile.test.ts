import { describe, expect, it } from 'vitest';
import { enqueueDeliveries } from '../../src/webhooks/outbox.js';
import { reconcileDeliveries } from '../../src/webhooks/reconcile.js';
import { completeJob, createRunningJob, delivery, deliveryTestKit, flushPrefix, tenantSecret, waitFor } from './harness.js';

// Postgres is the source of truth for deliveries owed: Redis can lose everything between the
// commit that ended a job and the send, and the reconciler puts it back.

const { setup, receiver } = deliveryTestKit();

describe('reconciler', () => {
  it('delivers a job end whose queue entry was lost in a Redis flush', async () => {
    const { t, rt, tenantId } = await setup();
    const r0 = await receiver({ secrets: [] }); // only to learn a port to put in the callback URL
    const url = r0.url;
    await r0.stop();

    const { ids } = await completeJob(t.pool, await createRunningJob(t.pool, tenantId, url));
    await enqueueDeliveries(rt.queue, ids);
    expect(await rt.queue.getJobCounts('wait')).toMatchObject({ wait: 1 });
    expect(await flushPrefix(rt.connection, t.config.redisPrefix)).toBeGreaterThan(0);
    expect(await rt.queue.getJobCounts('wait', 'delayed', 'active')).toEqual({ wait: 0, delayed: 0, active: 0 });

    const r = await receiver({ secrets: [await tenantSecret(t, tenantId)], port: r0.port });
    rt.startWorker();
    expect(await reconcileDeliveries(t.pool, rt.queue)).toBe(1);
    const got = await r.next();
    expect(got.verified).toEqual([true]);
    await waitFor(async () => (await delivery(t.pool, ids[0])).status === 'delivered', 'delivered');
    expect(await reconcileDeliveries(t.pool, rt.queue)).toBe(0);
    expect(r.requests).toHaveLength(1);
  });

  it('leaves references still in Redis alone and re-adds a retry at its next-attempt time', async () => {
    const { t, rt, tenantId } = await setup();
    const { ids } = await completeJob(t.pool, await createRunningJob(t.pool, tenantId, 'https://hooks.example.com/a'));
    await enqueueDeliveries(rt.queue, ids);
    expect(await reconcileDeliveries(t.pool, rt.queue)).toBe(0);

    // As after a failed first attempt: attempt 2 is due in an hour.
    await t.pool.query(`UPDATE webhook_deliveries SET attempt_count = 1, next_attempt_at = now() + interval '1 hour' WHERE id = $1`, [ids[0]]);
    await flushPrefix(rt.connection, t.config.redisPrefix);
    expect(await reconcileDeliveries(t.pool, rt.queue)).toBe(1);
    const job = await rt.queue.getJob(`${ids[0]}_1`);
    expect(await job!.getState()).toBe('delayed');
    expect(job!.data).toEqual({ deliveryId: ids[0], attempt: 1 });
    expect(job!.opts.delay).toBeGreaterThan(3590_000);
    expect(job!.opts.delay).toBeLessThanOrEqual(3600_000);
    expect(await reconcileDeliveries(t.pool, rt.queue)).toBe(0);
  });

  it('pages through many pending deliveries sharing one timestamp without looping', async () => {
    const { t, rt, tenantId } = await setup();
    const jobId = await createRunningJob(t.pool, tenantId);
    // 1200 rows written by one statement share created_at and next_attempt_at to the microsecond.
    await t.pool.query(
      `INSERT INTO webhook_deliveries (tenant_id, job_id, destination, url, message_id, event_type, payload)
       SELECT $1, $2, 'callback', 'https://hooks.example.com', 'msg_' || g, 'job.progress', '{}' FROM generate_series(1, 1200) g`,
      [tenantId, jobId],
    );
    expect(await reconcileDeliveries(t.pool, rt.queue)).toBe(1200);
    expect(await reconcileDeliveries(t.pool, rt.queue)).toBe(0);
  });

  it('holds an early reference in Redis until the delivery is due, then sends it once', async () => {
    const { t, rt, tenantId } = await setup();
    const r0 = await receiver({ secrets: [] });
    await r0.stop();
    const { ids } = await completeJob(t.pool, await createRunningJob(t.pool, tenantId, r0.url));
    const r = await receiver({ secrets: [await tenantSecret(t, tenantId)], port: r0.port });
    // As when the reconciler re-added an attempt whose lease had not yet run out: due in an hour,
    // referenced now (without a delay) in Redis.
    await t.pool.query(`UPDATE webhook_deliveries SET next_attempt_at = now() + interval '1 hour' WHERE id = $1`, [ids[0]]);
    await enqueueDeliveries(rt.queue, ids);
    rt.startWorker();

    // The worker took the reference, found it early and put it back in Redis as a delayed job, unsent.
    await waitFor(async () => (await rt.queue.getDelayedCount()) === 1, 'the early reference delayed in Redis');
    expect(r.requests).toHaveLength(0);
    expect((await delivery(t.pool, ids[0])).attempt_count).toBe(0);
    // Once it is due (here: made due, and its delay cut short), it is sent.
    await t.pool.query(`UPDATE webhook_deliveries SET next_attempt_at = now() WHERE id = $1`, [ids[0]]);
    const [held] = await rt.queue.getDelayed();
    await held.promote();
    await r.next();
    await waitFor(async () => (await delivery(t.pool, ids[0])).status === 'delivered', 'delivered');
    expect((await delivery(t.pool, ids[0])).attempt_count).toBe(1);
    expect(r.requests).toHaveLength(1);
  });
});
