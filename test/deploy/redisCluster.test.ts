import { createParser } from 'eventsource-parser';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import type { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { killAll, startApi, startWorker, type Proc } from '../helpers/processes.js';
import { storedRows } from '../helpers/results.js';
import { accounting, expectExactlyOnce, registerSlowModel, rowsCsv, submitCsv, tenantClient } from '../reliability/harness.js';
import { waitFor } from '../reliability/infra.js';
import { startRedisCluster, type RedisCluster } from './redisServers.js';

// Sluice on a 3-node Redis Cluster (docs/deploy.md "Redis Cluster and managed Redis"): real api and
// worker processes given REDIS_CLUSTER_NODES. BullMQ's keys, the rate limiter's and the pub/sub
// wake-ups and progress all go through the cluster; every key carries the hash tag {REDIS_PREFIX}
// and so sits in one slot. A worker SIGKILLed mid-job loses nothing: its chunks' locks expire, the
// stalled check (run by the other workers, through the cluster) re-offers them.

const WORKER_ENV = { LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000', WORKER_CONCURRENCY: '2', INFERENCE_THREADS: '1' };

let cluster: RedisCluster;
let env: TestEnv;
let api: Proc & { url: string };
let c: ReturnType<typeof client>;
const workers: Proc[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  env = await createTestEnv({ REDIS_CLUSTER_NODES: cluster.nodes, CHUNK_ROWS: '400' });
  api = await startApi(env.env);
  c = await tenantClient(env.pool, api.url);
  expect((await c.registerModel('cars', linearRegression([1, 2], 0.5), { columns: ['a', 'b'], task: 'regression', passthrough: ['id'] })).status).toBe(201);
  await registerSlowModel(c);
}, 90_000);

afterAll(async () => {
  await killAll();
  await env?.close();
  await cluster?.stop();
});

const chunksDone = async (id: string) => (await env.pool.query('SELECT chunks_done FROM jobs WHERE id = $1', [id])).rows[0].chunks_done as number;

/** Every event of a job's SSE stream until the server ends it (after the final one). */
async function sseEvents(id: string): Promise<{ all: Promise<{ type: string; status: string }[]> }> {
  const res = await c.get(`/v1/jobs/${id}/events`, { accept: 'text/event-stream' });
  expect(res.status).toBe(200);
  const events: { type: string; status: string }[] = [];
  const parser = createParser({ onEvent: (e) => events.push({ type: e.event ?? 'message', status: JSON.parse(e.data).status }) });
  // Wrapped: a promise returned from an async function would be awaited with it.
  const all = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
    return events;
  })();
  return { all };
}

describe('a 3-node Redis Cluster', () => {
  it('REDIS_CLUSTER_NODES and a redis+cluster:// REDIS_URL both make the prefix a hash tag', () => {
    const prefix = env.env.REDIS_PREFIX;
    expect(env.config.redisPrefix).toBe(`{${prefix}}`);
    expect(env.config.redis.cluster?.nodes).toHaveLength(3);
    const viaUrl = loadConfig({ ...env.env, REDIS_CLUSTER_NODES: '', REDIS_URL: `redis+cluster://${cluster.nodes}` });
    expect(viaUrl.redisPrefix).toBe(`{${prefix}}`);
    expect(viaUrl.redis.cluster?.nodes).toEqual(env.config.redis.cluster?.nodes);
    // A single Redis keeps its prefix as it was: its queued keys stay where they are.
    expect(loadConfig({ ...env.env, REDIS_CLUSTER_NODES: '' }).redisPrefix).toBe(prefix);
  });

  it('a CSV job and single predictions complete with correct results; wake-ups and progress arrive over pub/sub', async () => {
    const n = 4000;
    let csv = 'id,a,b\n';
    for (let r = 1; r <= n; r++) csv += `${r},${r % 50},${(r % 7) - 3}\n`;
    const id = await submitCsv(c, 'cars', csv);
    // Watched before any worker runs: every event after the first comes from a pub/sub message.
    const events = await sseEvents(id);
    workers.push(await startWorker(env.env, WORKER_ENV));
    const job = await c.waitForJob(id, 60_000);
    expect(job.status).toBe('completed');
    expect(job.rows).toMatchObject({ total: n, succeeded: n, failed: 0 });
    const rows = await storedRows(env.pool, id);
    expect(rows).toHaveLength(n);
    for (const r of rows) expect(Number(r.value)).toBeCloseTo((r.row_no % 50) + 2 * ((r.row_no % 7) - 3) + 0.5, 4);
    const seen = await events.all;
    // After the opening status (queued, read from Postgres), the worker's messages: 'running' when it
    // took the first chunk, then progress (coalesced to one per 500 ms, so a quick job may show none).
    expect(seen[0]).toEqual({ type: 'status', status: 'queued' });
    expect(seen.slice(1, -1).map((e) => `${e.type}:${e.status}`)).toContain('status:running');
    expect(seen.at(-1)).toEqual({ type: 'completed', status: 'completed' });

    // Single predictions answered within their wait: woken by the worker's message through the cluster.
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const res = await c.postJson('/v1/predictions', { model: 'cars', inputs: [{ a: i, b: 1 }, { a: 2, b: i }], wait: 10 });
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.predictions.map((p: { prediction: number }) => p.prediction)).toEqual([expect.closeTo(i + 2.5, 4), expect.closeTo(2 + 2 * i + 0.5, 4)]);
      expect(performance.now() - started).toBeLessThan(5000);
    }

    // Every key is in the hash tag's slot, on the one node that owns it; none went to the shared Redis.
    const tagged = `{${env.env.REDIS_PREFIX}}`;
    const perNode = await Promise.all(cluster.ports.map(async (port) => {
      const r = cluster.node(port);
      try {
        return await r.keys(`*${env.env.REDIS_PREFIX}*`);
      } finally {
        r.disconnect();
      }
    }));
    const holders = perNode.filter((keys) => keys.length > 0);
    expect(holders).toHaveLength(1);
    expect(holders[0]).toContain(`${tagged}:predict:meta`);
    expect(holders[0].every((k) => k.startsWith(`${tagged}:`))).toBe(true);
    const shared = new Redis(env.config.redisUrl);
    try {
      expect(await shared.keys(`*${env.env.REDIS_PREFIX}*`)).toEqual([]);
    } finally {
      shared.disconnect();
    }
  });

  it('a worker SIGKILLed mid-job loses nothing: every row exactly once', async () => {
    workers.push(await startWorker(env.env, WORKER_ENV));
    const n = 16_000;
    const id = await submitCsv(c, 'slow', rowsCsv(n));
    const chunks = Math.ceil(n / 400);
    await waitFor(async () => (await chunksDone(id)) >= chunks * 0.25, 60_000, '25% of chunks done', 25);
    await workers[0].stop('SIGKILL');
    workers.push(await startWorker(env.env, WORKER_ENV));
    const job = await c.waitForJob(id, 90_000);
    expect(job.status).toBe('completed');
    expectExactlyOnce(await accounting(env.pool, id), n, { errors: 0 });
    // The kill landed mid-chunk: some chunk was started more than once and still counted once.
    const { rows } = await env.pool.query(`SELECT count(*)::int AS restarted FROM job_chunks WHERE job_id = $1 AND attempts > 1`, [id]);
    expect(rows[0].restarted).toBeGreaterThan(0);
  });
});
