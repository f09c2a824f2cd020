import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { QUEUES } from '../../src/queue/queues.js';
import { createRedis } from '../../src/queue/redis.js';
import { failsAtRunModel } from '../fixtures/onnxBuilder.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { accounting, expectExactlyOnce, receiver, registerSlowModel, rowsCsv, submitCsv } from './harness.js';
import { waitFor } from './infra.js';
import { closeWorkersInProcess, startWorkerInProcess as worker } from '../helpers/worker.js';

// No job stays unfinished: poison chunks are retried a bounded number of times and then give their
// rows errors; a job that stops progressing for any reason is ended by the watchdog; a cancelled
// job scores nothing more and keeps what it had.

let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let c: ReturnType<typeof client>;

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '400', CHUNK_ATTEMPTS: '3' });
  api = await startInProcessApi(env.config);
  const { key } = await createKey(env.pool, 'acme');
  c = client(api.url, key);
  await registerSlowModel(c);
});
afterAll(async () => {
  await closeWorkersInProcess();
  await api?.close();
  await env?.close();
});

describe('jobs always end', () => {
  it('a chunk whose inference throws every time: 3 attempts, then every row an error and the job failed, not stuck', async () => {
    // Declares a symbolic feature dim but multiplies by a [3, 2] matrix: loads, and fails at run with 4 columns.
    const reg = await c.registerModel('poison', failsAtRunModel(), { columns: ['a', 'b', 'c', 'd'], task: 'raw', output: 'y', passthrough: ['id'] });
    expect(reg.status, await reg.clone().text()).toBe(201);
    const w = await worker(env.env, { WORKER_QUEUES: 'predict', INFERENCE_THREADS: '1' });
    const id = await submitCsv(c, 'poison', rowsCsv(1000));
    const job = await c.waitForJob(id, 40_000);
    expect(job).toMatchObject({ status: 'failed', rows: { total: 1000, succeeded: 0, failed: 1000 }, error: { code: 'inference_failed' } });
    expectExactlyOnce(await accounting(env.pool, id), 1000, { errors: 1000 });
    const { rows } = await env.pool.query(`SELECT array_agg(DISTINCT attempts) AS a FROM job_chunks WHERE job_id = $1`, [id]);
    expect(rows[0].a).toEqual([3]);
    await w.close();
  });

  it('cancel while running: nothing more is scored, status cancelled, results so far readable, job.cancelled sent', async () => {
    const hook = await receiver({ accept: true });
    const w = await worker(env.env, { WORKER_QUEUES: 'predict,webhooks', WORKER_CONCURRENCY: '2', INFERENCE_THREADS: '1' });
    const res = await c.postCsv(`/v1/jobs?model=slow&callback_url=${encodeURIComponent(hook.url)}`, rowsCsv(40_000));
    const id = (await res.json()).id;
    await waitFor(async () => (await env.pool.query('SELECT chunks_done FROM jobs WHERE id = $1', [id])).rows[0].chunks_done >= 5, 30_000, 'some chunks done', 25);
    const cancel = await c.post(`/v1/jobs/${id}/cancel`);
    expect(cancel.status).toBe(200);
    expect((await cancel.json()).status).toBe('cancelled');
    expect((await c.post(`/v1/jobs/${id}/cancel`)).status).toBe(409);

    // Let the worker drain what it had in hand (no event for "nothing left": poll the queue).
    const q = new Queue(QUEUES.predict, { connection: createRedis(env.config), prefix: env.config.redisPrefix });
    await waitFor(async () => {
      const n = await q.getJobCounts('active', 'wait', 'delayed', 'prioritized');
      return Object.values(n).every((v) => v === 0);
    }, 30_000, 'the queue to drain');
    await q.close();

    const { rows } = await env.pool.query(
      `SELECT j.status, j.chunks_done, j.chunks_total, j.rows_succeeded,
              (SELECT count(*)::int FROM job_chunks WHERE job_id = j.id AND status = 'done') AS done_chunks,
              (SELECT coalesce(sum(row_count), 0)::int FROM job_chunks WHERE job_id = j.id AND status = 'done') AS done_rows,
              (SELECT coalesce(sum(row_count), 0)::int FROM prediction_chunks WHERE job_id = j.id) AS stored
         FROM jobs j WHERE j.id = $1`,
      [id],
    );
    const j = rows[0];
    expect(j.status).toBe('cancelled');
    expect(j.chunks_done).toBeLessThan(j.chunks_total); // pending chunks were not scored
    expect(j.done_chunks).toBe(j.chunks_done); // no chunk finished behind the cancel's back
    expect(j.stored).toBe(j.done_rows);
    expect(j.rows_succeeded).toBe(j.stored);
    const page = await (await c.get(`/v1/jobs/${id}/results?format=json&limit=10000`)).json();
    expect(page.data.length).toBe(Math.min(j.stored, 10000));
    await waitFor(() => hook.got.length > 0, 20_000, 'the job.cancelled webhook');
    expect(hook.got).toEqual([{ type: 'job.cancelled', id }]);
    await hook.close();
    await w.close();
  });

  it('a job that makes no progress (nobody consumes its chunks) is ended by the watchdog: failed job_stalled, every row accounted for', async () => {
    // This worker consumes webhooks only, so the job's chunks wait forever.
    const dog = await worker(env.env, { WORKER_QUEUES: 'webhooks', JOB_STALL_TIMEOUT_MS: '2000', WATCHDOG_INTERVAL_MS: '300' });
    const id = await submitCsv(c, 'slow', rowsCsv(2000));
    const job = await c.waitForJob(id, 30_000);
    expect(job).toMatchObject({ status: 'failed', error: { code: 'job_stalled' }, rows: { total: 2000, succeeded: 0, failed: 2000 } });
    expect(job.error.message).toMatch(/no progress/);
    expectExactlyOnce(await accounting(env.pool, id), 2000, { errors: 2000 });
    await dog.close();
  });
});
