import { describe, expect, it } from 'vitest';
import { jobView } from '../../src/jobs/view.js';
import { enqueueDeliveries } from '../../src/webhooks/outbox.js';
import type { TestEnv } from '../helpers/env.js';
import {
  BASE_URL,
  attempts,
  completeJob,
  createRunningJob,
  delivery,
  deliveryTestKit,
  freePort,
  tenantSecret,
  waitFor,
} from './harness.js';

// Deliveries to a job's callback_url, end to end: a job ended in Postgres, the delivery enqueued,
// the webhook worker in-process, a receiver process on loopback verifying with standardwebhooks.

const { setup, receiver } = deliveryTestKit();

/** A job with a callback URL, ended, and the tenant's default secret (made now if the tenant had none). */
async function endedJob(t: TestEnv, tenantId: string, url: string) {
  const jobId = await createRunningJob(t.pool, tenantId, url);
  const ended = await completeJob(t.pool, jobId);
  return { ...ended, secret: await tenantSecret(t, tenantId) };
}

describe('callback_url delivery', () => {
  it("reaches the receiver once, signed, with the job as GET /v1/jobs/{id} shows it", async () => {
    const { t, rt, tenantId } = await setup();
    const port = await freePort();
    const { job, ids, secret } = await endedJob(t, tenantId, `http://127.0.0.1:${port}/hook`);
    expect(ids).toHaveLength(1);
    const r = await receiver({ secrets: [secret], port });

    // Enqueued twice (the job-ending code and a retry of it): the deterministic id adds it once.
    await enqueueDeliveries(rt.queue, ids);
    await enqueueDeliveries(rt.queue, ids);
    expect(await rt.queue.getJobCounts('wait')).toEqual({ wait: 1 });
    rt.startWorker();

    const got = await r.next();
    expect(got.verified).toEqual([true]);
    expect(got.duplicate).toBe(false);
    expect(got.payload.type).toBe('job.completed');
    expect(got.payload.data).toEqual(JSON.parse(JSON.stringify(jobView(job, { baseUrl: BASE_URL }))));
    expect(got.payload.data).toMatchObject({ id: job.id, status: 'completed', model: { name: 'iris', version: 1 } });
    expect(new Date(got.payload.timestamp).getTime()).not.toBeNaN();
    expect(Math.abs(Number(got.timestamp) - Date.now() / 1000)).toBeLessThan(10);

    const d = await waitFor(async () => {
      const row = await delivery(t.pool, ids[0]);
      return row.status === 'delivered' && row;
    }, 'the delivery to be marked delivered');
    expect(d.message_id).toBe(got.webhookId);
    expect(d.attempt_count).toBe(1);
    const [a] = await attempts(t.pool, ids[0]);
    expect(a).toMatchObject({ attempt_no: 1, status_code: 200, outcome: 'success', response_excerpt: 'ok', address: '127.0.0.1' });
    expect(r.requests).toHaveLength(1);

    // Recording the same job end again writes nothing: a redelivered last chunk cannot send twice.
    const again = await completeJob(t.pool, job.id);
    expect(again.ids).toEqual([]);
  });

  it('answers 500 twice then 200: three attempts, one webhook-id, every attempt logged', async () => {
    const { t, rt, tenantId } = await setup();
    const port = await freePort();
    const { ids, secret } = await endedJob(t, tenantId, `http://127.0.0.1:${port}/hook`);
    const r = await receiver({ secrets: [secret], port, script: [{ status: 500 }, { status: 500 }, { status: 200 }] });
    await enqueueDeliveries(rt.queue, ids);
    rt.startWorker();

    const third = await r.next((q) => q.n === 3);
    expect(new Set(r.requests.map((q) => q.webhookId))).toEqual(new Set([third.webhookId]));
    expect(r.requests.map((q) => q.status)).toEqual([500, 500, 200]);
    expect(r.requests.every((q) => q.verified[0])).toBe(true);
    // Each attempt is signed afresh, with its own timestamp.
    expect(Number(r.requests[2].timestamp)).toBeGreaterThanOrEqual(Number(r.requests[0].timestamp));

    await waitFor(async () => (await delivery(t.pool, ids[0])).status === 'delivered', 'delivered');
    const log = await attempts(t.pool, ids[0]);
    expect(log.map((a) => [a.attempt_no, a.status_code, a.outcome])).toEqual([
      [1, 500, 'http_error'],
      [2, 500, 'http_error'],
      [3, 200, 'success'],
    ]);
    expect(log[0].response_excerpt).toBe('answered 500');
  });

  it('keeps trying while the receiver is down and delivers once it is back', async () => {
    const { t, rt, tenantId } = await setup({ WEBHOOK_RETRY_SCHEDULE: '0,1,1,1,1,1,1,1,1,1' });
    const port = await freePort();
    const { ids, secret } = await endedJob(t, tenantId, `http://127.0.0.1:${port}/hook`);
    await enqueueDeliveries(rt.queue, ids);
    rt.startWorker();

    await waitFor(async () => (await attempts(t.pool, ids[0])).length >= 2 || null, 'two refused attempts');
    const r = await receiver({ secrets: [secret], port });
    const got = await r.next();
    expect(got.verified).toEqual([true]);

    await waitFor(async () => (await delivery(t.pool, ids[0])).status === 'delivered', 'delivered');
    const log = await attempts(t.pool, ids[0]);
    expect(log.length).toBeGreaterThanOrEqual(3);
    expect(log[0]).toMatchObject({ outcome: 'network', status_code: null });
    expect(log[0].error).toMatch(/ECONNREFUSED/);
    expect(log.at(-1)).toMatchObject({ outcome: 'success', status_code: 200 });
    expect(r.requests).toHaveLength(1);
  });

  it('retries a receiver slower than the timeout', async () => {
    const { t, rt, tenantId } = await setup({ WEBHOOK_TIMEOUT_MS: '400' });
    const port = await freePort();
    const { ids, secret } = await endedJob(t, tenantId, `http://127.0.0.1:${port}/hook`);
    // The first answer would come long after the test's own timeout: only giving up on it gets the retry through.
    const r = await receiver({ secrets: [secret], port, script: [{ status: 200, delayMs: 120_000 }, { status: 200 }] });
    await enqueueDeliveries(rt.queue, ids);
    rt.startWorker();

    await r.next((q) => q.n === 2);
    await waitFor(async () => (await delivery(t.pool, ids[0])).status === 'delivered', 'delivered');
    const log = await attempts(t.pool, ids[0]);
    expect(log.map((a) => a.outcome)).toEqual(['timeout', 'success']);
    expect(log[0].status_code).toBeNull(); // no status line came before the attempt was given up
    expect(r.requests[0].webhookId).toBe(r.requests[1].webhookId);
  });

  it('does not follow a redirect: a 3xx is a failed attempt', async () => {
    const { t, rt, tenantId } = await setup({ WEBHOOK_RETRY_SCHEDULE: '0' });
    const port = await freePort();
    const { ids, secret } = await endedJob(t, tenantId, `http://127.0.0.1:${port}/hook`);
    const r = await receiver({ secrets: [secret], port, script: [{ status: 307, headers: { location: `http://127.0.0.1:${port}/elsewhere` } }] });
    await enqueueDeliveries(rt.queue, ids);
    rt.startWorker();

    await r.next();
    const d = await waitFor(async () => {
      const row = await delivery(t.pool, ids[0]);
      return row.status === 'failed' && row;
    }, 'the delivery to fail');
    expect(d.last_error).toMatch(/307.*not followed/);
    expect(r.requests.map((q) => q.path)).toEqual(['/hook']);
  });

  it('marks the delivery failed after the last attempt, and it stays visible', async () => {
    const { t, rt, tenantId } = await setup();
    const port = await freePort();
    const { ids, secret } = await endedJob(t, tenantId, `http://127.0.0.1:${port}/hook`);
    const r = await receiver({ secrets: [secret], port, script: [{ status: 503 }] });
    await enqueueDeliveries(rt.queue, ids);
    rt.startWorker();

    await r.next((q) => q.n === 3);
    const d = await waitFor(async () => {
      const row = await delivery(t.pool, ids[0]);
      return row.status === 'failed' && row;
    }, 'the delivery to fail');
    expect(d.attempt_count).toBe(3);
    expect(d.last_error).toMatch(/HTTP 503.*gave up/);
    expect(await attempts(t.pool, ids[0])).toHaveLength(3);
  });
});
