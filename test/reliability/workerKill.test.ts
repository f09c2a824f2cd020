import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessApi, type client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { accounting, expectExactlyOnce, registerSlowModel, rowsCsv, submitCsv, tenantClient } from './harness.js';
import { waitFor } from './infra.js';
import { killAll, startWorker as worker, type Proc } from '../helpers/processes.js';

// Invariant: a worker SIGKILLed mid-chunk loses nothing and doubles nothing. Its chunks stay
// locked in BullMQ until the lock expires, the stalled check re-offers them, another worker scores
// them, and the done-mark in Postgres makes any second finish a no-op.

const WORKER_ENV = { LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000', WORKER_CONCURRENCY: '2', INFERENCE_THREADS: '1', WORKER_QUEUES: 'predict' };
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let c: ReturnType<typeof client>;
const workers: Proc[] = [];

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

const chunksDone = async (id: string) => (await env.pool.query('SELECT chunks_done FROM jobs WHERE id = $1', [id])).rows[0].chunks_done as number;

describe('workers killed mid-chunk', () => {
  it('three SIGKILLs during one job, other workers running: every row exactly once', async () => {
    workers.push(...(await Promise.all([1, 2, 3].map(() => worker(env.env, WORKER_ENV)))));
    const n = 60_000;
    const id = await submitCsv(c, 'slow', rowsCsv(n));
    const chunks = Math.ceil(n / 400);
    const victims = [...workers];
    for (const [i, at] of [0.15, 0.35, 0.55].entries()) {
      await waitFor(async () => (await chunksDone(id)) >= chunks * at, 45_000, `${at * 100}% of chunks done`, 25);
      await victims[i].stop('SIGKILL');
      workers.push(await worker(env.env, WORKER_ENV));
    }
    const job = await c.waitForJob(id, 50_000);
    expect(job.status).toBe('completed');
    expectExactlyOnce(await accounting(env.pool, id), n, { errors: 0 });
    // The kills landed mid-chunk: some chunk was started more than once and still counted once.
    const { rows } = await env.pool.query(`SELECT count(*)::int AS restarted, max(attempts)::int AS most FROM job_chunks WHERE job_id = $1 AND attempts > 1`, [id]);
    expect(rows[0].restarted).toBeGreaterThan(0);
  });
});
