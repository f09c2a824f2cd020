import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { enqueueChunks } from '../../src/jobs/enqueue.js';
import { createOnlineJobs } from '../../src/jobs/online.js';
import { createLogger } from '../../src/log.js';
import { resolveModel } from '../../src/models/resolve.js';
import { chunkGroupJob, chunkGroupJobId } from '../../src/queue/chunkJobs.js';
import { QUEUES } from '../../src/queue/queues.js';
import { createRedis } from '../../src/queue/redis.js';
import { reconcile } from '../../src/worker/reconcile.js';
import { trainDemoModels } from '../../scripts/train/demoModels.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { startWorkerInProcess, type InProcessWorker } from '../helpers/worker.js';
import { readCsv } from './helpers.js';

// Single predictions reach the queue in groups: one BullMQ job carries the chunks of every small
// job the api stored together, a worker loads, scores and commits them as one, and the reconciler
// knows which pending chunks a live group already carries.

describe('small jobs enqueued as groups', () => {
  let env: TestEnv;
  let api: Awaited<ReturnType<typeof startInProcessApi>>;
  let worker: InProcessWorker | undefined;
  let c: ReturnType<typeof client>;
  let tenantId: string;
  let queues: { predict: Queue; interactive: Queue; webhooks: Queue };
  let events: QueueEvents;
  const demo = trainDemoModels();
  const recs = readCsv(demo.penguins.holdoutCsv);

  beforeAll(async () => {
    env = await createTestEnv({ INFERENCE_THREADS: '1' });
    api = await startInProcessApi(env.config);
    const k = await createKey(env.pool, 'acme');
    tenantId = k.tenantId;
    c = client(api.url, k.key);
    expect((await c.registerModel(demo.penguins.name, demo.penguins.onnx, demo.penguins.signature)).status).toBe(201);
    const connection = createRedis(env.config);
    const prefix = env.config.redisPrefix;
    queues = {
      predict: new Queue(QUEUES.predict, { connection, prefix }),
      interactive: new Queue(QUEUES.interactive, { connection, prefix }),
      webhooks: new Queue(QUEUES.webhooks, { connection, prefix }),
    };
    events = new QueueEvents(QUEUES.interactive, { connection: createRedis(env.config), prefix });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await worker?.close();
    await events?.close();
    await Promise.all(Object.values(queues ?? {}).map((q) => q.close()));
    await api?.close();
    await env?.close();
  });

  const storeJobs = async (n: number, offset: number) => {
    const version = await resolveModel(env.pool, tenantId, 'penguins');
    const ids = await createOnlineJobs(env.pool, recs.slice(offset, offset + n).map((r) => ({ tenantId, version, records: [r], callbackUrl: null })));
    return { ids, refs: ids.map((jobId) => ({ jobId, seq: 0 })) };
  };
  const reconcileNow = () => reconcile({ pool: env.pool, ...queues, attempts: 3, log: createLogger(env.config, 'test') });
  const predictionsOf = async (ids: string[]) =>
    (await env.pool.query<{ n: number }>(`SELECT coalesce(sum(row_count), 0)::int AS n FROM prediction_chunks WHERE job_id = ANY($1)`, [ids])).rows[0].n;

  it('a group is ONE queue job; the reconciler leaves its chunks alone, and re-adds them one by one once the group is lost', async () => {
    const { ids, refs } = await storeJobs(3, 0);
    expect(await enqueueChunks(queues.interactive, refs, createLogger(env.config, 'test'), 3, { asGroup: true })).toBe(true);
    const queued = await queues.interactive.getJobs(['waiting', 'prioritized']);
    expect(queued.map((j) => [j.name, j.id])).toEqual([['chunks', chunkGroupJobId({ chunks: refs })]]);
    expect(queued[0].data).toEqual({ chunks: refs });

    expect((await reconcileNow()).chunks).toBe(0); // carried by the live group: nothing doubled

    await queues.interactive.remove(chunkGroupJobId({ chunks: refs })); // as if Redis lost it
    expect((await reconcileNow()).chunks).toBe(3);
    const readded = await queues.interactive.getJobs(['waiting', 'prioritized']);
    expect(readded.map((j) => j.name).sort()).toEqual(['chunk', 'chunk', 'chunk']);

    worker = await startWorkerInProcess(env.env);
    for (const id of ids) expect((await c.waitForJob(id)).status).toBe('completed');
    expect(await predictionsOf(ids)).toBe(3);
  });

  it('a worker scores a group together, each job its own rows; the same group delivered again changes nothing', async () => {
    worker ??= await startWorkerInProcess(env.env);
    const { ids, refs } = await storeJobs(5, 10);
    const g = chunkGroupJob({ chunks: refs }, 3);
    const first = await queues.interactive.add(g.name, g.data, g.opts);
    expect(await first.waitUntilFinished(events, 60_000)).toBe('done');
    const jobs = await Promise.all(ids.map((id) => c.get(`/v1/jobs/${id}/results?format=json`).then((r) => r.json())));
    jobs.forEach((body, i) => {
      expect(body.job_status).toBe('completed');
      expect(body.data).toHaveLength(1);
      expect(body.data[0].passthrough).toEqual({ id: recs[10 + i].id }); // each job got its own record's row
    });
    expect(await predictionsOf(ids)).toBe(5);

    // Completed group jobs are removed, so the same id can be added again: as a redelivery would.
    const again = await queues.interactive.add(g.name, g.data, g.opts);
    expect(await again.waitUntilFinished(events, 60_000)).toBe('skipped');
    expect(await predictionsOf(ids)).toBe(5);
    const { rows } = await env.pool.query(`SELECT status, rows_succeeded, chunks_done FROM jobs WHERE id = ANY($1)`, [ids]);
    expect(rows).toEqual(ids.map(() => ({ status: 'completed', rows_succeeded: 1, chunks_done: 1 })));
  });
});
