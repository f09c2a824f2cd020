import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessApi, type client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { accounting, expectExactlyOnce, registerSlowModel, rowsCsv, submitCsv, tenantClient } from './harness.js';
import { waitFor } from './infra.js';
import { killAll, startWorker as worker } from '../helpers/processes.js';

// SIGTERM to a worker: it finishes the chunks in hand, takes no new ones, closes its connections
// and exits 0. A rolling restart (start the new worker, then SIGTERM the old) hands the job over
// without a single chunk being redelivered.

const WORKER_ENV = { WORKER_CONCURRENCY: '2', INFERENCE_THREADS: '1', WORKER_QUEUES: 'predict', SHUTDOWN_GRACE_MS: '20000' };
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let c: ReturnType<typeof client>;

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '400' });
  api = await startInProcessApi(env.config);
  c = await tenantClient(env.pool, api.url);
  await registerSlowModel(c);
});
afterAll(async () => {
  await killAll();
  await api?.close();
  await env?.close();
});

const chunkStates = async (id: string) =>
  (
    await env.pool.query(
      `SELECT count(*) FILTER (WHERE status = 'done')::int AS done,
              count(*) FILTER (WHERE status = 'pending' AND attempts > 0)::int AS abandoned,
              count(*) FILTER (WHERE status = 'pending' AND attempts = 0)::int AS untouched,
              coalesce(max(attempts), 0)::int AS most
         FROM job_chunks WHERE job_id = $1`,
      [id],
    )
  ).rows[0] as { done: number; abandoned: number; untouched: number; most: number };

describe('graceful worker shutdown', () => {
  it('SIGTERM finishes the chunks in hand and exits 0; a rolling restart redelivers nothing', async () => {
    const n = 40_000;
    const chunks = n / 400;
    const first = await worker(env.env, WORKER_ENV);
    const id = await submitCsv(c, 'slow', rowsCsv(n));
    await waitFor(async () => (await chunkStates(id)).done >= chunks * 0.1, 40_000, '10% of chunks done', 25);

    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.logs.some((l) => l.msg === 'stopped')).toBe(true);
    // Nothing was left half-done, and the worker took no new work once told to stop.
    const after = await chunkStates(id);
    expect(after.abandoned).toBe(0);
    expect(after.untouched).toBeGreaterThan(0);

    // Rolling restart: the next worker is up before the previous one is told to go.
    const second = await worker(env.env, WORKER_ENV);
    await waitFor(async () => (await chunkStates(id)).done >= chunks * 0.4, 40_000, '40% of chunks done', 25);
    const third = await worker(env.env, WORKER_ENV);
    expect(await second.stop('SIGTERM')).toBe(0);
    expect((await chunkStates(id)).abandoned).toBeLessThanOrEqual(2); // third may hold a chunk or two right now

    const job = await c.waitForJob(id, 50_000);
    expect(job.status).toBe('completed');
    expectExactlyOnce(await accounting(env.pool, id), n, { errors: 0 });
    expect((await chunkStates(id)).most).toBe(1); // no chunk was ever started twice
    expect(await third.stop('SIGTERM')).toBe(0);
  });
});
