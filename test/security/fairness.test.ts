import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { startWorkerInProcess, type InProcessWorker } from '../helpers/worker.js';

// Fair scheduling between tenants: tenant A's big batch job fills the bulk queue; tenant B's single
// prediction goes through the interactive queue (its own BullMQ queue and concurrency in the
// worker) and is answered while A's job is still running, without waiting in line behind A's chunks.
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let worker: InProcessWorker;
let a: ReturnType<typeof client>;
let b: ReturnType<typeof client>;
const sig = { columns: ['a', 'b'], task: 'regression' };
const ROWS = 300_000;

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '1000', WORKER_CONCURRENCY: '2', INFERENCE_THREADS: '1', RATE_LIMIT_PER_SECOND: '1000' });
  api = await startInProcessApi(env.config);
  worker = await startWorkerInProcess(env.env);
  a = client(api.url, (await createKey(env.pool, 'bulk-co')).key);
  b = client(api.url, (await createKey(env.pool, 'small-co')).key);
  expect((await a.registerModel('lin', linearRegression([1, 2], 0), sig)).status).toBe(201);
  expect((await b.registerModel('lin', linearRegression([3, 4], 1), sig)).status).toBe(201);
});
afterAll(async () => {
  await worker?.close();
  await api?.close();
  await env?.close();
});

async function predictB(): Promise<any> {
  const res = await b.postJson('/v1/predictions', { model: 'lin', inputs: [{ a: 1, b: 2 }], wait: 20 });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

describe('fair scheduling between tenants', () => {
  it("a 300k-row job of tenant A does not hold back tenant B's single prediction", async () => {
    await predictB(); // warms the model cache

    const csv = 'a,b\n' + Array.from({ length: ROWS }, (_, i) => `${i % 97},${i % 13}`).join('\n') + '\n';
    const submitted = await a.postCsv('/v1/jobs?model=lin', csv);
    expect(submitted.status).toBe(202);
    const jobId = (await submitted.json()).id;
    // Wait until the worker is busy with A's job (a chunk done), so B really competes with it.
    let progress = { chunks_done: 0, chunks_total: 0, status: 'queued' };
    for (let i = 0; i < 1000 && progress.chunks_done === 0; i++) {
      progress = (await env.pool.query(`SELECT chunks_done, chunks_total, status FROM jobs WHERE id = $1`, [jobId])).rows[0];
      if (progress.chunks_done === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(progress.chunks_done).toBeGreaterThan(0);

    const during = await predictB();
    const after = (await env.pool.query(`SELECT chunks_done, chunks_total, status FROM jobs WHERE id = $1`, [jobId])).rows[0];
    // B was answered while A's job still had most of its chunks to go, with B's own model...
    expect(after.status).toBe('running');
    expect(after.chunks_done).toBeLessThan(after.chunks_total);
    expect(during.predictions[0].prediction).toBeCloseTo(3 * 1 + 4 * 2 + 1, 4);
    // ...and without queueing behind them: of the chunks A still had when B's job was created, fewer
    // than half were done by the time B's job finished (in a single line B would wait for all of them).
    const { rows: [bJob] } = await env.pool.query(`SELECT created_at, finished_at FROM jobs WHERE id = $1`, [during.id]);
    const { rows: [seen] } = await env.pool.query(
      `SELECT count(*) FILTER (WHERE done_at IS NULL OR done_at >= $2)::int AS left_at_b,
              count(*) FILTER (WHERE done_at >= $2 AND done_at <= $3)::int AS done_during_b
         FROM job_chunks WHERE job_id = $1`,
      [jobId, bJob.created_at, bJob.finished_at],
    );
    expect(seen.left_at_b).toBeGreaterThan(0);
    expect(seen.done_during_b).toBeLessThan(seen.left_at_b / 2);

    // A's job still completes in full.
    const done = await a.waitForJob(jobId, 50_000);
    expect(done.status).toBe('completed');
  });
});
