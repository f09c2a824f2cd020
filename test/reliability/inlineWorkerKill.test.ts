import { Queue } from 'bullmq';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../src/queue/queues.js';
import { createRedis } from '../../src/queue/redis.js';
import { startInProcessApi, type client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { killAll, startWorker as worker, type Proc } from '../helpers/processes.js';
import { registerSlowModel, tenantClient } from './harness.js';
import { waitFor } from './infra.js';

// A single prediction's records ride in the queue beside its reference (src/queue/chunkJobs.ts
// InlineChunk), so a worker scores them without loading the chunk. Postgres stays the truth: a
// worker SIGKILLed after taking such a job, mid-commit, leaves nothing behind; BullMQ's stalled
// check offers the job (copy included) to another worker, and the request waiting on it gets the
// right answer. The first worker is held at its commit by a table lock this test takes, so the
// kill lands after the scoring and before anything is stored, every time.

const WORKER_ENV = { LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000', INFERENCE_THREADS: '1', WORKER_QUEUES: 'predict' };
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let c: ReturnType<typeof client>;
let queue: Queue;
let holder: pg.PoolClient | undefined;
const workers: Proc[] = [];

beforeAll(async () => {
  env = await createTestEnv({});
  api = await startInProcessApi(env.config);
  c = await tenantClient(env.pool, api.url);
  await registerSlowModel(c);
  queue = new Queue(QUEUES.interactive, { connection: createRedis(env.config), prefix: env.config.redisPrefix });
});
afterAll(async () => {
  holder?.release();
  await killAll();
  await queue?.close();
  await api?.close();
  await env?.close();
});

const features = { a: 4.2, b: -3, c: 17, d: 1 };
const predict = (id: string) => c.postJson('/v1/predictions', { model: 'slow', wait: 30, inputs: [{ id, ...features }] });

describe('a worker killed holding a small job whose records rode in the queue', () => {
  it('another worker finishes it from the copy, and the waiting request gets the right answer', async () => {
    workers.push(await worker(env.env, WORKER_ENV));
    const reference = await predict('1');
    expect(reference.status).toBe(200);
    const expected = (await reference.json()).predictions[0];

    // Hold every finishing commit: the commit writes prediction_chunks, which this lock blocks.
    holder = await env.pool.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE prediction_chunks IN SHARE MODE');
    const answer = predict('2');

    // The worker has taken the job, scored it and waits at its commit (a lock wait, seen in Postgres).
    let blocked = 0;
    await waitFor(async () => {
      const { rows } = await env.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%prediction_chunks%' AND pid <> $1`,
        [(holder as unknown as { processID: number }).processID],
      );
      blocked = rows[0]?.pid ?? 0;
      return blocked > 0;
    }, 20_000, 'the worker waiting at its commit', 20);
    const [taken] = await queue.getJobs(['active']);
    expect(taken?.data?.inline?.records).toEqual([{ id: '2', ...features }]);
    const jobId: string = taken.data.jobId;

    await workers[0].stop('SIGKILL');
    // Its statement dies with it: nothing of it commits once the lock is gone.
    await env.pool.query('SELECT pg_terminate_backend($1)', [blocked]);
    await holder.query('ROLLBACK');
    holder.release();
    holder = undefined;
    const before = await env.pool.query(`SELECT count(*)::int AS n FROM prediction_chunks WHERE job_id = $1`, [jobId]);
    expect(before.rows[0].n).toBe(0);

    workers.push(await worker(env.env, WORKER_ENV));
    const res = await answer;
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.id).toBe(jobId);
    expect(body.status).toBe('completed');
    expect(body.predictions).toHaveLength(1);
    expect(body.predictions[0]).toMatchObject({ passthrough: { id: '2' }, prediction: expected.prediction, probabilities: expected.probabilities, error: null });

    // Stored once; the chunk was never loaded from Postgres (no start counted): the second worker
    // scored it from the copy the stalled job still carried.
    const { rows } = await env.pool.query(
      `SELECT (SELECT count(*)::int FROM prediction_chunks WHERE job_id = $1) AS stored, c.status, c.attempts, j.rows_succeeded::int AS succeeded, j.started_at IS NOT NULL AS started
         FROM job_chunks c JOIN jobs j ON j.id = c.job_id WHERE c.job_id = $1`,
      [jobId],
    );
    expect(rows[0]).toEqual({ stored: 1, status: 'done', attempts: 0, succeeded: 1, started: true });
  });
});
