import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueDeliveries, recordProgress } from '../../src/webhooks/outbox.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import {
  BASE_URL,
  completeJob,
  createRunningJob,
  createTenant,
  delivery,
  freePort,
  jobRow,
  runtime,
  startApi,
  startReceiver,
  waitFor,
  type Receiver,
  type Runtime,
} from './harness.js';

// Registered endpoints through the API: secrets shown once, rotation, 410, tenant scoping, the
// delivery log and manual retry. One database and worker for the file; each test its own tenant.

let t: TestEnv;
let rt: Runtime;
let api: Awaited<ReturnType<typeof startApi>>;
const receivers: Receiver[] = [];

beforeAll(async () => {
  t = await createTestEnv({ WEBHOOK_RETRY_SCHEDULE: '0,1,1', WEBHOOK_PROGRESS_INTERVAL_MS: '60000' });
  rt = runtime(t.config, t.pool);
  rt.startWorker();
  api = await startApi(t.config, t.pool, rt.queue);
});
afterAll(async () => {
  for (const r of receivers) await r.stop();
  await api.close();
  await rt.close();
  await t.close();
});

async function receiver(opts: Parameters<typeof startReceiver>[0]) {
  const r = await startReceiver(opts);
  receivers.push(r);
  return r;
}

let tenants = 0;
async function tenant() {
  return createTenant(t.pool, `tenant-${++tenants}`);
}

async function endJob(tenantId: string, type: 'job.completed' | 'job.failed' = 'job.completed', callbackUrl: string | null = null) {
  const jobId = await createRunningJob(t.pool, tenantId, callbackUrl);
  const { ids } = await completeJob(t.pool, jobId, type);
  await enqueueDeliveries(rt.queue, ids);
  return { jobId, ids };
}

describe('endpoint management', () => {
  it('creates an endpoint and shows its secret once', async () => {
    const { key } = await tenant();
    const created = await api.call(key, 'POST', '/v1/webhooks', { url: 'https://hooks.example.com/sluice', events: ['job.completed', 'job.failed', 'job.completed'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ url: 'https://hooks.example.com/sluice', events: ['job.completed', 'job.failed'], status: 'enabled' });
    expect(created.body.secret).toMatch(/^whsec_/);

    const one = await api.call(key, 'GET', `/v1/webhooks/${created.body.id}`);
    expect(one.status).toBe(200);
    expect(one.body.secret).toBeUndefined();
    expect(JSON.stringify((await api.call(key, 'GET', '/v1/webhooks')).body)).not.toContain(created.body.secret);

    const patched = await api.call(key, 'PATCH', `/v1/webhooks/${created.body.id}`, { events: ['job.cancelled'], description: 'ops' });
    expect(patched.body).toMatchObject({ events: ['job.cancelled'], description: 'ops', url: 'https://hooks.example.com/sluice' });

    expect((await api.call(key, 'DELETE', `/v1/webhooks/${created.body.id}`)).status).toBe(204);
    expect((await api.call(key, 'GET', `/v1/webhooks/${created.body.id}`)).status).toBe(404);
  });

  it('validates events and URLs', async () => {
    const { key } = await tenant();
    const bad = await api.call(key, 'POST', '/v1/webhooks', { url: 'https://x.example.com', events: ['job.exploded'] });
    expect(bad.status).toBe(400);
    expect((await api.call(key, 'POST', '/v1/webhooks', { url: 'https://x.example.com', events: [] })).status).toBe(400);
    const creds = await api.call(key, 'POST', '/v1/webhooks', { url: 'https://u:p@x.example.com', events: ['job.completed'] });
    expect(creds).toMatchObject({ status: 422, body: { code: 'invalid_callback_url' } });
  });

  it("answers 404 for another tenant's endpoint, whatever the verb", async () => {
    const a = await tenant();
    const b = await tenant();
    const { body } = await api.call(a.key, 'POST', '/v1/webhooks', { url: 'https://a.example.com', events: ['job.completed'] });
    for (const [m, p, payload] of [
      ['GET', `/v1/webhooks/${body.id}`],
      ['PATCH', `/v1/webhooks/${body.id}`, { disabled: true }],
      ['DELETE', `/v1/webhooks/${body.id}`],
      ['POST', `/v1/webhooks/${body.id}/rotate-secret`, {}],
    ] as const) {
      expect((await api.call(b.key, m, p, payload)).status, `${m} ${p}`).toBe(404);
    }
    expect((await api.call(b.key, 'GET', '/v1/webhooks')).body.data).toEqual([]);
    expect((await api.call(a.key, 'GET', `/v1/webhooks/${body.id}`)).body.status).toBe('enabled');
  });
});

describe('delivery to endpoints', () => {
  it('sends each event only to the endpoints subscribed to it', async () => {
    const { key, tenantId } = await tenant();
    const failedOnly = await api.call(key, 'POST', '/v1/webhooks', { url: 'https://failed.example.com', events: ['job.failed'] });
    const completedOnly = await api.call(key, 'POST', '/v1/webhooks', { url: 'https://completed.example.com', events: ['job.completed'] });
    expect(failedOnly.status).toBe(201);
    // Recorded, not enqueued: this test is about who is owed a delivery.
    const { ids } = await completeJob(t.pool, await createRunningJob(t.pool, tenantId), 'job.completed');
    expect(ids).toHaveLength(1);
    expect((await delivery(t.pool, ids[0])).url).toBe(completedOnly.body.url);
    const failed = await completeJob(t.pool, await createRunningJob(t.pool, tenantId), 'job.failed');
    expect(failed.ids).toHaveLength(1);
    expect((await delivery(t.pool, failed.ids[0])).url).toBe(failedOnly.body.url);
  });

  it('signs with both secrets during a rotation overlap, each verifying on its own', async () => {
    const { key, tenantId } = await tenant();
    const port = await freePort();
    const created = await api.call(key, 'POST', '/v1/webhooks', { url: `http://127.0.0.1:${port}/hook`, events: ['job.completed'] });
    const rotated = await api.call(key, 'POST', `/v1/webhooks/${created.body.id}/rotate-secret`, {});
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect(new Date(rotated.body.previous_secret_expires_at).getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    const audit = await t.pool.query(`SELECT action, target FROM audit_log WHERE tenant_id = $1`, [tenantId]);
    expect(audit.rows).toContainEqual({ action: 'webhook.secret_rotated', target: created.body.id });

    const r = await receiver({ secrets: [created.body.secret, rotated.body.secret], port });
    const first = await endJob(tenantId);
    const got = await r.next((q) => q.payload.data.id === first.jobId);
    expect(got.signatures).toHaveLength(2);
    expect(got.verified).toEqual([true, true]);
    await r.stop();

    // Overlap 0 ends the old secret now (the response to a leak): only the new one signs.
    const again = await api.call(key, 'POST', `/v1/webhooks/${created.body.id}/rotate-secret`, { overlap_seconds: 0 });
    expect(again.body.previous_secret_expires_at).toBeNull();
    const r2 = await receiver({ secrets: [rotated.body.secret, again.body.secret], port });
    const second = await endJob(tenantId);
    const got2 = await r2.next((q) => q.payload.data.id === second.jobId);
    expect(got2.signatures).toHaveLength(1);
    expect(got2.verified).toEqual([false, true]);
  });

  it('disables the endpoint on 410 Gone and stops writing deliveries for it', async () => {
    const { key, tenantId } = await tenant();
    const port = await freePort();
    const created = await api.call(key, 'POST', '/v1/webhooks', { url: `http://127.0.0.1:${port}/hook`, events: ['job.completed'] });
    const r = await receiver({ secrets: [created.body.secret], script: [{ status: 410 }], port });

    const { ids } = await endJob(tenantId);
    await r.next();
    const d = await waitFor(async () => {
      const row = await delivery(t.pool, ids[0]);
      return row.status === 'failed' && row;
    }, 'the delivery to fail');
    expect(d.attempt_count).toBe(1);
    expect(d.last_error).toMatch(/410/);
    const ep = await api.call(key, 'GET', `/v1/webhooks/${created.body.id}`);
    expect(ep.body).toMatchObject({ status: 'disabled' });
    expect(ep.body.disabled_reason).toMatch(/410 Gone/);

    expect((await endJob(tenantId)).ids).toEqual([]);
    expect((await api.call(key, 'POST', `/v1/deliveries/${ids[0]}/retry`)).status).toBe(409);
    const enabled = await api.call(key, 'PATCH', `/v1/webhooks/${created.body.id}`, { disabled: false });
    expect(enabled.body).toMatchObject({ status: 'enabled', disabled_reason: null });
    expect(r.requests).toHaveLength(1);
  });

  it('fails, without sending, a delivery whose endpoint was deleted; its history stays listed', async () => {
    const { key, tenantId } = await tenant();
    const created = await api.call(key, 'POST', '/v1/webhooks', { url: 'https://gone.example.com/hook', events: ['job.completed'] });
    const jobId = await createRunningJob(t.pool, tenantId);
    const { ids } = await completeJob(t.pool, jobId);
    expect((await api.call(key, 'DELETE', `/v1/webhooks/${created.body.id}`)).status).toBe(204);
    await enqueueDeliveries(rt.queue, ids);

    await waitFor(async () => (await delivery(t.pool, ids[0])).status === 'failed', 'the delivery to fail');
    const list = await api.call(key, 'GET', `/v1/jobs/${jobId}/deliveries`);
    expect(list.body.data[0]).toMatchObject({ status: 'failed', attempt_count: 0, last_error: 'endpoint deleted; not sent', attempts: [], destination: { type: 'endpoint', endpoint_id: null, url: 'https://gone.example.com/hook' } });
    expect((await api.call(key, 'POST', `/v1/deliveries/${ids[0]}/retry`)).status).toBe(409);
  });

  it('writes job.progress only for subscribers, at most once per interval', async () => {
    const { key, tenantId } = await tenant();
    const jobId = await createRunningJob(t.pool, tenantId);
    const job = await jobRow(t.pool, jobId);
    const client = await t.pool.connect();
    try {
      expect(await recordProgress(client, job, { baseUrl: BASE_URL }, { intervalMs: 60_000 })).toEqual([]); // nobody subscribes
      await api.call(key, 'POST', '/v1/webhooks', { url: 'https://a.example.com', events: ['job.completed'] });
      const sub = await api.call(key, 'POST', '/v1/webhooks', { url: 'https://b.example.com', events: ['job.progress'] });
      const first = await recordProgress(client, job, { baseUrl: BASE_URL }, { intervalMs: 60_000 });
      expect(first).toHaveLength(1);
      expect(await recordProgress(client, job, { baseUrl: BASE_URL }, { intervalMs: 60_000 })).toEqual([]);
      expect(await recordProgress(client, job, { baseUrl: BASE_URL }, { intervalMs: 0 })).toHaveLength(1);
      const { rows } = await client.query(`SELECT endpoint_id, event_type, payload FROM webhook_deliveries WHERE id = $1`, [first[0]]);
      expect(rows[0]).toMatchObject({ endpoint_id: sub.body.id, event_type: 'job.progress', payload: { type: 'job.progress', data: { id: jobId, status: 'running', progress: { fraction: 0.5 } } } });
      expect(await recordProgress(client, { ...job, status: 'completed' }, { baseUrl: BASE_URL }, { intervalMs: 0 })).toEqual([]);
    } finally {
      client.release();
    }
  });
});

describe('delivery log and manual retry', () => {
  it('lists a job’s deliveries with their attempts, only to its tenant', async () => {
    const a = await tenant();
    const b = await tenant();
    // The documented flow for callback_url receivers: fetch the default secret first.
    const { body: s } = await api.call(a.key, 'GET', '/v1/webhooks/default-secret');
    const r = await receiver({ secrets: [s.secret], script: [{ status: 500 }, { status: 200 }] });
    const { jobId, ids } = await endJob(a.tenantId, 'job.completed', r.url);
    await waitFor(async () => (await delivery(t.pool, ids[0])).status === 'delivered', 'delivered');

    const list = await api.call(a.key, 'GET', `/v1/jobs/${jobId}/deliveries`);
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(1);
    const [d] = list.body.data;
    expect(d).toMatchObject({ id: ids[0], event: 'job.completed', status: 'delivered', attempt_count: 2, destination: { type: 'callback', url: r.url } });
    expect(d.webhook_id).toBe(r.requests[0].webhookId);
    expect(d.attempts.map((x: { status_code: number }) => x.status_code)).toEqual([500, 200]);
    expect(d.attempts[0]).toMatchObject({ attempt: 1, outcome: 'http_error', error: 'HTTP 500', response_excerpt: 'answered 500' });
    expect(typeof d.attempts[0].latency_ms).toBe('number');

    expect((await api.call(b.key, 'GET', `/v1/jobs/${jobId}/deliveries`)).status).toBe(404);
    expect((await api.call(b.key, 'POST', `/v1/deliveries/${ids[0]}/retry`)).status).toBe(404);
  });

  it('sends a failed delivery again on request, with the same webhook-id, which the receiver dedupes', async () => {
    const { key, tenantId } = await tenant();
    const { body: s } = await api.call(key, 'GET', '/v1/webhooks/default-secret');
    const r = await receiver({ secrets: [s.secret], script: [{ status: 500 }, { status: 500 }, { status: 500 }, { status: 200 }] });
    const { ids } = await endJob(tenantId, 'job.completed', r.url);
    await waitFor(async () => (await delivery(t.pool, ids[0])).status === 'failed', 'the delivery to fail');
    expect(r.requests).toHaveLength(3);

    const retry = await api.call(key, 'POST', `/v1/deliveries/${ids[0]}/retry`);
    expect(retry.status).toBe(202);
    expect(retry.body).toMatchObject({ id: ids[0], status: 'pending' });
    const fourth = await r.next((q) => q.n === 4);
    expect(fourth).toMatchObject({ status: 200, verified: [true], duplicate: false, webhookId: r.requests[0].webhookId });
    await waitFor(async () => (await delivery(t.pool, ids[0])).status === 'delivered', 'delivered');
    expect((await delivery(t.pool, ids[0])).attempt_count).toBe(4);

    // Sending a delivered message again is allowed: the receiver recognises it by its webhook-id.
    expect((await api.call(key, 'POST', `/v1/deliveries/${ids[0]}/retry`)).status).toBe(202);
    const fifth = await r.next((q) => q.n === 5);
    expect(fifth).toMatchObject({ webhookId: fourth.webhookId, duplicate: true });
  });

  it('rotates the default secret with an overlap: callback deliveries carry both signatures', async () => {
    const { key, tenantId } = await tenant();
    const first = (await api.call(key, 'GET', '/v1/webhooks/default-secret')).body;
    const old = first.secret;
    expect(old).toMatch(/^whsec_/);
    // Shown by the request that made it, never again: a later GET tells which one it is, no more.
    const again = (await api.call(key, 'GET', '/v1/webhooks/default-secret')).body;
    expect(again.secret).toBeUndefined();
    expect(again.secret_fingerprint).toBe(first.secret_fingerprint);
    const rotated = await api.call(key, 'POST', '/v1/webhooks/default-secret/rotate', {});
    expect(rotated.body.secret).not.toBe(old);
    expect(rotated.body.secret_fingerprint).not.toBe(first.secret_fingerprint);
    expect((await api.call(key, 'GET', '/v1/webhooks/default-secret')).body).toEqual({ ...rotated.body, secret: undefined });
    expect(rotated.body.previous_secret_expires_at).not.toBeNull();
    const r = await receiver({ secrets: [old, rotated.body.secret] });
    await endJob(tenantId, 'job.completed', r.url);
    const got = await r.next();
    expect(got.signatures).toHaveLength(2);
    expect(got.verified).toEqual([true, true]);
  });
});

describe('GET /v1/webhooks pages', () => {
  it('pages by limit and an opaque cursor, oldest first, each endpoint once; 50 by default, 200 at most', async () => {
    const { key, tenantId } = await tenant();
    // 52 endpoints, most of them made by one statement: same created_at, so the id breaks the ties.
    await t.pool.query(
      `INSERT INTO webhook_endpoints (tenant_id, url, events, secret_enc, secret_fingerprint)
       SELECT $1, 'http://127.0.0.1:9/bulk-' || i, '{job.completed}', 'v1:x:y:z', 'f' FROM generate_series(1, 50) i`,
      [tenantId],
    );
    for (let i = 0; i < 2; i++) expect((await api.call(key, 'POST', '/v1/webhooks', { url: `http://127.0.0.1:9/api-${i}`, events: ['job.failed'] })).status).toBe(201);
    const { rows } = await t.pool.query<{ id: string }>(`SELECT id FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);

    const first = await api.call(key, 'GET', '/v1/webhooks');
    expect(first.body.data).toHaveLength(50);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const rest = await api.call(key, 'GET', `/v1/webhooks?cursor=${first.body.next_cursor}`);
    expect(rest.body).toMatchObject({ next_cursor: null });
    expect([...first.body.data, ...rest.body.data].map((e: { id: string }) => e.id)).toEqual(rows.map((r) => r.id));

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await api.call(key, 'GET', `/v1/webhooks?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(7);
      for (const e of res.body.data) expect(e).not.toHaveProperty('secret');
      seen.push(...res.body.data.map((e: { id: string }) => e.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(rows.map((r) => r.id));
    expect((await api.call(key, 'GET', '/v1/webhooks?limit=200')).body).toMatchObject({ next_cursor: null });
  });

  it('answers 400 validation_failed to a forged cursor or a limit out of range', async () => {
    const { key } = await tenant();
    const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
    const id = '00000000-0000-4000-8000-000000000000';
    for (const cursor of [
      'garbage!',
      enc('not json'),
      enc({ t: '2020-01-01T00:00:00Z', id: '----' }),
      enc({ t: '1', id }),
      enc({ t: '2020-02-31T00:00:00.000000Z', id }), // a day Postgres cannot cast
      enc({ t: '2020-01-01T00:00:00.000000Z', id, extra: 1 }),
      enc({ n: 'a-model-cursor' }),
    ]) {
      const res = await api.call(key, 'GET', `/v1/webhooks?cursor=${encodeURIComponent(cursor)}`);
      expect(res.status, cursor).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    for (const limit of ['0', '201', 'x']) expect((await api.call(key, 'GET', `/v1/webhooks?limit=${limit}`)).status).toBe(400);
    const ok = await api.call(key, 'GET', `/v1/webhooks?cursor=${enc({ t: '2020-01-01T00:00:00.000000Z', id })}`);
    expect(ok).toMatchObject({ status: 200, body: { data: [], next_cursor: null } });
  });
});
