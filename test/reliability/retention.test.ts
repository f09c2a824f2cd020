import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { receiver, registerSlowModel, rowsCsv, submitCsv } from './harness.js';
import { waitFor } from './infra.js';
import { closeWorkersInProcess, startWorkerInProcess as worker } from '../helpers/worker.js';

// Finished jobs older than RETENTION_TTL_HOURS go, with their results, chunks and deliveries, in
// batches of RETENTION_BATCH_ROWS; the job id then answers 410 job_expired (to its tenant only).

let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let c: ReturnType<typeof client>;
let other: ReturnType<typeof client>;

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '250', RETENTION_TTL_HOURS: '1', RETENTION_BATCH_ROWS: '100', RETENTION_INTERVAL_MS: '300' });
  api = await startInProcessApi(env.config);
  c = client(api.url, (await createKey(env.pool, 'acme')).key);
  other = client(api.url, (await createKey(env.pool, 'globex')).key);
  await registerSlowModel(c, 'slow', 64);
});
afterAll(async () => {
  await closeWorkersInProcess();
  await api?.close();
  await env?.close();
});

const count = async (sql: string, id: string) => (await env.pool.query(sql, [id])).rows[0].n as number;

describe('retention', () => {
  it('deletes an expired job in bounded batches, leaves younger jobs alone, and answers 410 job_expired for it', async () => {
    const hook = await receiver({ accept: true });
    const w = await worker(env.env, { WORKER_QUEUES: 'predict,webhooks', INFERENCE_THREADS: '1' });
    const res = await c.postCsv(`/v1/jobs?model=slow&callback_url=${encodeURIComponent(hook.url)}`, rowsCsv(1500));
    const old = (await res.json()).id;
    const young = await submitCsv(c, 'slow', rowsCsv(500));
    expect((await c.waitForJob(old)).status).toBe('completed');
    expect((await c.waitForJob(young)).status).toBe('completed');
    expect(await count('SELECT count(*)::int AS n FROM webhook_deliveries WHERE job_id = $1', old)).toBe(1);

    // Age one job past the TTL (1 h) rather than wait an hour.
    await env.pool.query(`UPDATE jobs SET finished_at = now() - interval '2 hours' WHERE id = $1`, [old]);
    // What the pass reports about itself is the point here: its counts say it went in batches.
    const report = () => w.logs.find((l) => l.msg === 'retention deleted expired jobs');
    await waitFor(() => !!report(), 20_000, 'a retention pass that deleted something');
    const done = report()!;
    expect(done).toMatchObject({ jobs: 1 });
    expect(Number(done.rows)).toBe(1500 + 6); // results + chunks
    // Never all at once: results a chunk per statement (each of the 6 chunks holds more than the
    // 100-row batch), then the empty statement that ends them, then the 6 chunk rows in one.
    expect(Number(done.batches)).toBe(6 + 1 + 1);

    expect(await count('SELECT count(*)::int AS n FROM prediction_chunks WHERE job_id = $1', old)).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM job_chunks WHERE job_id = $1', old)).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM webhook_deliveries WHERE job_id = $1', old)).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM jobs WHERE id = $1', old)).toBe(0);
    expect(await count('SELECT sum(row_count)::int AS n FROM prediction_chunks WHERE job_id = $1', young)).toBe(500);

    const gone = await c.get(`/v1/jobs/${old}`);
    expect(gone.status).toBe(410);
    const body = await gone.json();
    expect(body).toMatchObject({ code: 'job_expired', status: 410 });
    expect(body.detail).toMatch(/expired.*kept for 1 hours/);
    expect((await c.post(`/v1/jobs/${old}/cancel`)).status).toBe(410);
    expect((await c.get(`/v1/jobs/${old}/results`)).status).toBe(410);
    expect((await other.get(`/v1/jobs/${old}`)).status).toBe(404); // another tenant learns nothing
    expect((await c.get(`/v1/jobs/${young}`)).status).toBe(200);
    await hook.close();
    await w.close();
  });
});
