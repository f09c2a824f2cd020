import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { accounting, expectExactlyOnce, receiver, registerSlowModel, rowsCsv, submitCsv } from './harness.js';
import { startRedisServer, waitFor, type RedisServer } from './infra.js';
import { startApi as apiProcess, killAll, startWorker as worker, type Proc } from '../helpers/processes.js';

// Redis carries references only. These tests run their own redis-server, flush it and kill it
// while jobs run, and check that Postgres (chunk done-marks, pending deliveries) brings every job
// to its end with each row exactly once.

const WORKER_ENV = { LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000', RECONCILE_INTERVAL_MS: '1000', WORKER_CONCURRENCY: '2', INFERENCE_THREADS: '1' };
let redis: RedisServer;
let env: TestEnv;
let api: Proc & { url: string };
let c: ReturnType<typeof client>;
const extraRedis: RedisServer[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  // Enough retries (about 30 s of them) that a slow, loaded test run still flushes and accepts
  // while the delivery is pending rather than after it has given up.
  env = await createTestEnv({ REDIS_URL: redis.url, CHUNK_ROWS: '400', WEBHOOK_RETRY_SCHEDULE: ['0', ...Array(15).fill('2')].join(',') });
  api = await apiProcess(env.env);
  const { key } = await createKey(env.pool, 'acme');
  c = client(api.url, key);
  await registerSlowModel(c);
});
afterAll(async () => {
  await killAll();
  await Promise.all([redis, ...extraRedis].map((r) => r?.remove()));
  await env?.close();
});

const chunksDone = async (id: string) => (await env.pool.query('SELECT chunks_done FROM jobs WHERE id = $1', [id])).rows[0].chunks_done as number;

describe('Redis loses everything', () => {
  it('FLUSHALL mid-job and with a webhook owed: the reconciler re-enqueues from Postgres; rows exactly once, the webhook arrives', async () => {
    const workers = await Promise.all([1, 2].map(() => worker(env.env, WORKER_ENV)));
    const hook = await receiver();
    const n = 30_000;
    const res = await c.postCsv(`/v1/jobs?model=slow&callback_url=${encodeURIComponent(hook.url)}`, rowsCsv(n));
    expect(res.status).toBe(202);
    const id = (await res.json()).id;
    await waitFor(async () => (await chunksDone(id)) >= 75 * 0.2, 40_000, '20% done', 25);
    const r = redis.client();
    await r.flushall();
    r.disconnect();
    const job = await c.waitForJob(id, 50_000);
    expect(job.status).toBe('completed');
    expectExactlyOnce(await accounting(env.pool, id), n, { errors: 0 });
    expect(workers.some((w) => w.logs.some((l) => l.msg === 'reconciler re-enqueued work Redis had lost' && Number(l.chunks) > 0))).toBe(true);

    // The job.completed delivery is pending (the receiver said 503) and its retry lived in Redis: flush again.
    await waitFor(async () => (await env.pool.query(`SELECT attempt_count FROM webhook_deliveries WHERE job_id = $1`, [id])).rows[0]?.attempt_count >= 1, 20_000, 'a first failed attempt');
    const r2 = redis.client();
    await r2.flushall();
    r2.disconnect();
    hook.accept();
    await waitFor(() => hook.got.length > 0, 30_000, 'the webhook after the flush');
    expect(hook.got).toEqual([{ type: 'job.completed', id }]);
    await hook.close();
    for (const w of workers) expect(await w.stop()).toBe(0);
  });

  it('Redis down for seconds then back empty: the api still accepts (stored, enqueued later), workers reconnect and consume again', async () => {
    const workers = await Promise.all([1, 2].map(() => worker(env.env, WORKER_ENV)));
    const n = 20_000;
    const running = await submitCsv(c, 'slow', rowsCsv(n));
    await waitFor(async () => (await chunksDone(running)) >= 10, 40_000, 'the first job under way', 25);
    await redis.kill();
    const downAt = Date.now();

    // Policy: a submission is stored in Postgres and acknowledged; the reconciler enqueues it once Redis is back.
    const during = await c.postCsv('/v1/jobs?model=slow', rowsCsv(2000));
    expect(during.status).toBe(202);
    const queued = (await during.json()).id;
    const status = await c.get(`/v1/jobs/${queued}`);
    expect(status.status).toBe(200);
    expect((await status.json()).status).toBe('queued');

    // The outage itself is the scenario, so it is held for a set time: 7 s, past BullMQ's blocking
    // timeout (drainDelay 5 s + 1 s), where workers have been known never to resume (bullmq#4585).
    await new Promise((r) => setTimeout(r, 7000 - (Date.now() - downAt)));
    await redis.start(); // empty: no persistence
    for (const w of workers) await w.waitForLog(/Redis connection back; reconciling/, 20_000);
    const [a, b] = await Promise.all([c.waitForJob(running, 50_000), c.waitForJob(queued, 50_000)]);
    expect([a.status, b.status]).toEqual(['completed', 'completed']);
    expectExactlyOnce(await accounting(env.pool, running), n, { errors: 0 });
    expectExactlyOnce(await accounting(env.pool, queued), 2000, { errors: 0 });

    // The same worker processes, still consuming: a job submitted now is scored by them.
    const after = await submitCsv(c, 'slow', rowsCsv(800));
    expect((await c.waitForJob(after, 30_000)).status).toBe('completed');
    for (const w of workers) expect(w.child.exitCode).toBeNull();
    for (const w of workers) expect(await w.stop()).toBe(0);
  });
});

describe('startup checks', () => {
  it('warns when maxmemory-policy is not noeviction and when persistence is off; quiet when both are right', async () => {
    const risky = await startRedisServer(['--maxmemory-policy', 'allkeys-lru']);
    const safe = await startRedisServer(['--maxmemory-policy', 'noeviction', '--appendonly', 'yes']);
    extraRedis.push(risky, safe);
    const w1 = await worker({ ...env.env, REDIS_URL: risky.url });
    const w2 = await worker({ ...env.env, REDIS_URL: safe.url });
    const warnings = (w: Proc) => w.logs.filter((l) => l.level === 40).map((l) => String(l.msg));
    expect(warnings(w1).some((m) => m.includes('maxmemory-policy is "allkeys-lru"'))).toBe(true);
    expect(warnings(w1).some((m) => m.includes('persistence is off'))).toBe(true);
    expect(warnings(w2).filter((m) => /maxmemory-policy|persistence/.test(m))).toEqual([]);
    await Promise.all([w1.stop(), w2.stop()]);
  });
});
