import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { getJobRow } from '../../src/db/getJobRow.js';
import { encodeResultRows } from '../../src/results/resultRows.js';
import { finishedMessage, INLINE_RESULT_MAX_BYTES, inlineResult, MESSAGE_RESULTS_MAX_BYTES, parseFinishedMessage } from '../../src/jobs/finishedMessage.js';
import { jobDoneChannel, QUEUES } from '../../src/queue/queues.js';
import { createRedis } from '../../src/queue/redis.js';
import { trainDemoModels } from '../../scripts/train/demoModels.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { readCsv } from './helpers.js';

// A request waiting on a single prediction is answered from the worker's wake-up message when the
// message carries the result, and from Postgres when it names the job only. Here the test plays the
// worker (no worker runs): it finishes the job in Postgres, then publishes.

describe('waiting requests and the wake-up message', () => {
  let env: TestEnv;
  let api: Awaited<ReturnType<typeof startInProcessApi>>;
  let c: ReturnType<typeof client>;
  let events: QueueEvents;
  let publisher: ReturnType<typeof createRedis>;
  const demo = trainDemoModels();
  const rec = readCsv(demo.penguins.holdoutCsv)[0];
  const labels = demo.penguins.signature.labels!;

  beforeAll(async () => {
    env = await createTestEnv();
    api = await startInProcessApi(env.config);
    const k = await createKey(env.pool, 'acme');
    c = client(api.url, k.key);
    expect((await c.registerModel(demo.penguins.name, demo.penguins.onnx, demo.penguins.signature)).status).toBe(201);
    events = new QueueEvents(QUEUES.interactive, { connection: createRedis(env.config), prefix: env.config.redisPrefix });
    await events.waitUntilReady();
    publisher = createRedis(env.config);
  });
  afterAll(async () => {
    publisher?.disconnect();
    await events?.close();
    await api?.close();
    await env?.close();
  });

  /** Submits with wait; resolves once the request is waiting (its chunk is on the queue), with the job's id and the answer to come. */
  async function submitAndWait() {
    const queued = new Promise<void>((resolve) => events.once('waiting', () => resolve()));
    const answer = c.postJson('/v1/predictions', { model: 'penguins', inputs: [rec], wait: 20 });
    await queued;
    const { rows } = await env.pool.query<{ id: string }>(`SELECT id FROM jobs WHERE kind = 'online' AND status = 'queued'`);
    expect(rows).toHaveLength(1);
    return { jobId: rows[0].id, answer };
  }

  /** What a worker's finishing commit leaves: the job completed (its prediction rows only where `store`). */
  async function finish(jobId: string, store: boolean) {
    if (store) {
      const rows = encodeResultRows([{ value: 2, scores: [0.25, 0.25, 0.5], passthrough: ['from-table'], error: null }]);
      await env.pool.query(`INSERT INTO prediction_chunks (job_id, first_row, row_count, rows) VALUES ($1, 1, 1, $2)`, [jobId, rows]);
    }
    await env.pool.query(`UPDATE jobs SET status = 'completed', chunks_done = 1, rows_succeeded = 1, started_at = now(), finished_at = now() WHERE id = $1`, [jobId]);
    return (await getJobRow(env.pool, jobId))!;
  }

  it('answers from the result the message carries, without reading the predictions back', async () => {
    const { jobId, answer } = await submitAndWait();
    const job = await finish(jobId, false); // the table holds no rows for this job
    const rows = encodeResultRows([{ value: 1, scores: [0.125, 0.75, 0.125], passthrough: ['from-message'], error: null }]);
    await publisher.publish(jobDoneChannel(env.config.redisPrefix), finishedMessage([{ job, rows }]));
    const res = await answer;
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.predictions).toEqual([
      { row: 1, passthrough: { id: 'from-message' }, prediction: labels[1], probabilities: { [labels[0]]: 0.125, [labels[1]]: 0.75, [labels[2]]: 0.125 }, error: null },
    ]);
    const { predictions, ...view } = body;
    expect(view).toEqual(await (await c.get(`/v1/jobs/${jobId}`)).json());
  });

  it('a message carries results up to its budget, and names the jobs beyond it by id', async () => {
    const waiting = await submitAndWait();
    const job = await getJobRow(env.pool, waiting.jobId);
    const rows = new Uint8Array(20 * 1024);
    const jobs = Array.from({ length: 20 }, (_, i) => ({ job: { ...job!, id: `job-${i}` }, rows }));
    const parsed = parseFinishedMessage(finishedMessage(jobs));
    expect(parsed.map((f) => f.id)).toEqual(jobs.map((j) => j.job.id));
    const carried = Math.floor(MESSAGE_RESULTS_MAX_BYTES / rows.length);
    expect(parsed.map((f) => f.rows !== undefined)).toEqual(jobs.map((_, i) => i < carried));
    // A result that does not read as one is no result: the request reads Postgres instead.
    expect(inlineResult({ ...parsed[0], rows: Buffer.from([0xff, 1, 2]).toString('base64') })).toBeNull();
    await finish(job!.id, true);
    await publisher.publish(jobDoneChannel(env.config.redisPrefix), job!.id);
    expect((await waiting.answer).status).toBe(200);
  });

  it('reads Postgres when the message names the job only: a result too large to carry, or a message of an earlier worker', async () => {
    for (const message of [
      (job: Awaited<ReturnType<typeof finish>>) => finishedMessage([{ job, rows: new Uint8Array(INLINE_RESULT_MAX_BYTES + 1) }]),
      (job: Awaited<ReturnType<typeof finish>>) => `00000000-0000-4000-8000-000000000000 ${job.id}`,
    ]) {
      const { jobId, answer } = await submitAndWait();
      const job = await finish(jobId, true);
      await publisher.publish(jobDoneChannel(env.config.redisPrefix), message(job));
      const res = await answer;
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.predictions).toEqual([
        { row: 1, passthrough: { id: 'from-table' }, prediction: labels[2], probabilities: { [labels[0]]: 0.25, [labels[1]]: 0.25, [labels[2]]: 0.5 }, error: null },
      ]);
    }
  });
});
