import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { accounting, expectExactlyOnce, registerSlowModel, rowsCsv, submitCsv } from './harness.js';
import { startPostgres, waitFor, type PostgresServer } from './infra.js';
import { startApi as apiProcess, killAll, startWorker as worker, type Proc } from '../helpers/processes.js';

// Postgres stopped (fast shutdown: sessions cut) for a few seconds while a job runs, on a cluster
// of the test's own. Workers back off and keep their chunks; the api answers 503 + Retry-After and
// acknowledges nothing it could not store; everything resumes when Postgres is back.

const WORKER_ENV = { LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000', RECONCILE_INTERVAL_MS: '1000', WORKER_CONCURRENCY: '2', INFERENCE_THREADS: '1', WORKER_QUEUES: 'predict' };
let pgs: PostgresServer;
let env: TestEnv;
let api: Proc & { url: string };
let c: ReturnType<typeof client>;

beforeAll(async () => {
  pgs = await startPostgres();
  env = await createTestEnv({ DATABASE_URL: pgs.url, CHUNK_ROWS: '400' });
  api = await apiProcess(env.env);
  const { key } = await createKey(env.pool, 'acme');
  c = client(api.url, key);
  await registerSlowModel(c);
});
afterAll(async () => {
  await killAll();
  await env?.close();
  await pgs?.remove();
});

describe('Postgres unavailable for some seconds', () => {
  it('workers back off without crashing or losing a chunk; the api answers 503 + Retry-After and stores nothing it acknowledged not', async () => {
    const workers = await Promise.all([1, 2].map(() => worker(env.env, WORKER_ENV)));
    const n = 30_000;
    const id = await submitCsv(c, 'slow', rowsCsv(n));
    await waitFor(async () => (await env.pool.query('SELECT chunks_done FROM jobs WHERE id = $1', [id])).rows[0].chunks_done >= 10, 40_000, 'the job under way', 25);

    await pgs.stop();
    const downAt = Date.now();
    const submit = await c.postCsv('/v1/jobs?model=slow', rowsCsv(1000));
    expect(submit.status).toBe(503);
    expect(submit.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(submit.headers.get('content-type')).toContain('application/problem+json');
    expect((await submit.json()).code).toBe('service_unavailable');
    const read = await c.get(`/v1/jobs/${id}`);
    expect(read.status).toBe(503);
    // The outage is the scenario: hold it 5 s, long enough for every worker to hit it mid-chunk.
    await new Promise((r) => setTimeout(r, 5000 - (Date.now() - downAt)));
    await pgs.start();
    const upAt = Date.now();

    // Reads recover (the first may meet a connection cut by the restart).
    await waitFor(async () => (await c.get(`/v1/jobs/${id}`)).status === 200, 20_000, 'status reads to recover');
    const job = await c.waitForJob(id, 50_000);
    expect(job.status).toBe('completed');
    console.log(`job completed ${Date.now() - upAt} ms after Postgres came back`);
    expectExactlyOnce(await accounting(env.pool, id), n, { errors: 0 });
    for (const w of workers) expect(w.child.exitCode).toBeNull();
    expect(workers.flatMap((w) => w.logs).some((l) => /database unavailable|failed; will try again/.test(String(l.msg)))).toBe(true);
    // The refused submission left nothing behind: this is the only job there is.
    expect((await env.pool.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n).toBe(1);

    // And a submission now is accepted and scored by the same workers.
    const later = await submitCsv(c, 'slow', rowsCsv(800));
    expect((await c.waitForJob(later, 30_000)).status).toBe('completed');
    for (const w of workers) expect(await w.stop()).toBe(0);
    expect(await api.stop()).toBe(0);
  });
});
