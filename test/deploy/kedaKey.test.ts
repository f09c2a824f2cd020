import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { killAll, startApi, startWorker, type Proc } from '../helpers/processes.js';
import { registerSlowModel, rowsCsv, submitCsv } from '../reliability/harness.js';
import { find, renderOverlay, sluiceConfig, triggersOf } from './manifests.js';

// The Redis keys the KEDA ScaledObject watches (deploy/k8s/base/worker-scaledobject.yaml) are the
// ones BullMQ fills. Read from the rendered manifests, not copied: each redis trigger's listName,
// whose leading REDIS_PREFIX (the manifests' ConfigMap) is swapped for this test's own. Real api
// and worker processes; the api takes the jobs with no worker running (KEDA's situation at zero
// workers), so every chunk waits and the wait list holds exactly the chunks; then a worker that
// takes one chunk at a time drains it while Redis is read, and every list ends empty.

const CHUNK_ROWS = 100;
const CHUNKS = 12;

let env: TestEnv;
let redis: Redis;
let api: Proc & { url: string };

const objects = renderOverlay('prod');
const manifestPrefix = sluiceConfig(objects).REDIS_PREFIX;
const listNames = triggersOf(find(objects, 'ScaledObject', 'sluice-worker')).filter((t) => t.type === 'redis').map((t) => t.metadata.listName);

/** A listName as it reads under this test's REDIS_PREFIX. */
function ourKey(listName: string): string {
  if (!listName.startsWith(`${manifestPrefix}:`)) throw new Error(`${listName} does not start with the manifests' REDIS_PREFIX (${manifestPrefix}:)`);
  return env.config.redisPrefix + listName.slice(manifestPrefix.length);
}

/** The Prometheus series of a process's /metrics whose name and labels start as given, by value. */
async function series(port: number, prefix: string): Promise<number[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(prefix)).map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
}

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: String(CHUNK_ROWS), WORKER_CONCURRENCY: '1', INFERENCE_THREADS: '1' });
  redis = new Redis(env.config.redisUrl);
  api = await startApi(env.env);
});

afterAll(async () => {
  await killAll();
  redis?.disconnect();
  await env?.close();
});

it('the lists the ScaledObject names are the lists BullMQ fills with waiting chunks and drains', async () => {
  expect(listNames).toEqual([`${manifestPrefix}:predict:wait`, `${manifestPrefix}:predict-interactive:wait`, `${manifestPrefix}:predict:active`]);
  const [predictWait, interactiveWait, predictActive] = listNames.map(ourKey);
  const { key } = await createKey(env.pool, 'acme');
  const c = client(api.url, key);
  await registerSlowModel(c, 'slow', 1024);

  // No worker yet: whatever the api enqueues waits, exactly where KEDA looks.
  const jobId = await submitCsv(c, 'slow', rowsCsv(CHUNK_ROWS * CHUNKS));
  const single = await c.postJson('/v1/predictions', { model: 'slow', inputs: [{ a: 1, b: 2, c: 3, d: 4 }], wait: 0 });
  expect(single.status, await single.clone().text()).toBe(202);
  const singleId: string = (await single.json()).id;

  expect(await redis.type(predictWait)).toBe('list');
  expect(await redis.llen(predictWait)).toBe(CHUNKS);
  expect((await redis.lrange(predictWait, 0, -1)).sort()).toEqual(Array.from({ length: CHUNKS }, (_, seq) => `${jobId}_${seq}`).sort());
  expect(await redis.type(interactiveWait)).toBe('list');
  expect(await redis.lrange(interactiveWait, 0, -1)).toEqual([expect.stringContaining(singleId)]);
  expect(await redis.llen(predictActive)).toBe(0);

  // What the prod overlay's second trigger asks Prometheus for, as the api exports it.
  const metricsPort = Number((await api.ready()).metricsPort);
  expect(await series(metricsPort, 'sluice_queue_jobs{queue="predict",state="waiting"}')).toEqual([CHUNKS]);
  const [age] = await series(metricsPort, 'sluice_queue_oldest_waiting_age_seconds{queue="predict"}');
  expect(age).toBeGreaterThan(0);

  // A worker taking one chunk at a time: read the lists while it drains them, until the job ends.
  const worker = await startWorker(env.env);
  const done = c.waitForJob(jobId, 60_000).then((j) => j.status as string);
  let finished = false;
  void done.finally(() => (finished = true));
  const waiting: number[] = [];
  let activeSeen = 0;
  while (!finished) {
    const [[, w], [, a], [, type]] = (await redis.multi().llen(predictWait).llen(predictActive).type(predictActive).exec()) as [unknown, number][];
    waiting.push(w);
    if (a > 0) {
      expect(type).toBe('list');
      activeSeen = Math.max(activeSeen, a);
    }
    await new Promise((r) => setTimeout(r, 10)); // the sampling rate, not a wait for anything
  }
  expect(await done).toBe('completed');
  // One chunk in hand at a time (WORKER_CONCURRENCY=1), moved there from the wait list.
  expect(activeSeen).toBe(1);
  expect(waiting[0]).toBeLessThanOrEqual(CHUNKS);
  expect(waiting.every((w, i) => i === 0 || w <= waiting[i - 1]), `wait list lengths ${waiting.join(',')}`).toBe(true);
  expect((await c.waitForJob(singleId, 30_000)).status).toBe('completed');

  // Everything taken and done: nothing waits, nothing is in hand (Redis drops an empty list).
  for (const k of [predictWait, interactiveWait, predictActive]) expect(await redis.llen(k), k).toBe(0);
  expect(await series(metricsPort, 'sluice_queue_oldest_waiting_age_seconds{queue="predict"}')).toEqual([0]);
  expect(await worker.stop()).toBe(0);
}, 120_000);
