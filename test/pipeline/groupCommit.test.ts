import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { createGroupCommitter } from '../../src/jobs/groupCommit.js';
import { createOnlineJobs, readOnlineResults } from '../../src/jobs/online.js';
import { resolveModel } from '../../src/models/resolve.js';
import { trainDemoModels } from '../../scripts/train/demoModels.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { startWorkerInProcess, type InProcessWorker } from '../helpers/worker.js';
import { readCsv, scoreDirectly } from './helpers.js';
import { storedRows } from '../helpers/results.js';
import { inlineResult, parseFinishedMessage, type FinishedJob } from '../../src/jobs/finishedMessage.js';
import { jobDoneChannel } from '../../src/queue/queues.js';
import { createRedis } from '../../src/queue/redis.js';

// Group commit for single predictions: concurrent submissions share one INSERT and one commit,
// and each is acknowledged only once its own job is stored.

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('group committer', () => {
  it('writes a lone submission at once, gathers the ones that arrive during a write into the next, and answers none before its write ends', async () => {
    const writes: { items: number[]; done: ReturnType<typeof deferred<number[]>> }[] = [];
    const gc = createGroupCommitter<number, number>({
      write: (items) => {
        const done = deferred<number[]>();
        writes.push({ items, done });
        return done.promise;
      },
    });
    const answered: number[] = [];
    const p1 = gc.submit(1).then((r) => answered.push(r));
    expect(writes.map((w) => w.items)).toEqual([[1]]); // no timer: written immediately
    const rest = [2, 3, 4].map((i) => gc.submit(i).then((r) => answered.push(r)));
    await Promise.resolve();
    expect(writes).toHaveLength(1); // one write in flight: the others wait for it
    expect(answered).toEqual([]);
    writes[0].done.resolve([10]);
    await p1;
    expect(answered).toEqual([10]);
    expect(writes.map((w) => w.items)).toEqual([[1], [2, 3, 4]]); // gathered into ONE write
    await Promise.resolve();
    expect(answered).toEqual([10]); // not acknowledged before their write has committed
    writes[1].done.resolve([20, 30, 40]);
    await Promise.all(rest);
    expect(answered).toEqual([10, 20, 30, 40]);
    expect(gc.stats).toMatchObject({ groups: 2, items: 4, largest: 3 });
  });

  it('a group that fails is retried item by item: the bad item fails alone', async () => {
    const gate = deferred<void>();
    const gc = createGroupCommitter<number, number>({
      write: async (items) => {
        if (items[0] === 0) await gate.promise; // hold the first write so the next three gather
        if (items.includes(13)) throw new Error('bad item 13');
        return items.map((i) => i * 2);
      },
    });
    const first = gc.submit(0);
    const others = [12, 13, 14].map((i) => gc.submit(i).then((v) => ({ v }), (e: Error) => ({ e: e.message })));
    gate.resolve();
    expect(await first).toBe(0);
    expect(await Promise.all(others)).toEqual([{ v: 24 }, { e: 'bad item 13' }, { v: 28 }]);
  });
});

describe('single predictions under concurrency', () => {
  let env: TestEnv;
  let api: Awaited<ReturnType<typeof startInProcessApi>>;
  let worker: InProcessWorker;
  let c: ReturnType<typeof client>;
  let tenantId: string;
  const demo = trainDemoModels();

  beforeAll(async () => {
    env = await createTestEnv({ INFERENCE_THREADS: '1' });
    api = await startInProcessApi(env.config);
    worker = await startWorkerInProcess(env.env);
    const k = await createKey(env.pool, 'acme');
    tenantId = k.tenantId;
    c = client(api.url, k.key);
    expect((await c.registerModel(demo.penguins.name, demo.penguins.onnx, demo.penguins.signature)).status).toBe(201);
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await env?.close();
  });

  it('many jobs stored by one statement are each whole: job, chunk and counters, readable back', async () => {
    const version = await resolveModel(env.pool, tenantId, 'penguins');
    const recs = readCsv(demo.penguins.holdoutCsv).slice(0, 3);
    const ids = await createOnlineJobs(env.pool, recs.map((r, i) => ({ tenantId, version, records: i === 2 ? [r, r] : [r], callbackUrl: null })));
    expect(new Set(ids).size).toBe(3);
    const { rows } = await env.pool.query(
      `SELECT j.id, j.kind, j.status, j.rows_total, j.chunks_total, j.upload_complete, c.row_count, convert_from(c.payload, 'UTF8') AS payload
         FROM jobs j JOIN job_chunks c ON c.job_id = j.id WHERE j.id = ANY($1) ORDER BY j.rows_total, j.id`,
      [ids],
    );
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r).toMatchObject({ kind: 'online', status: 'queued', chunks_total: 1, upload_complete: true, row_count: r.rows_total });
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(JSON.parse(byId.get(ids[2])!.payload)).toEqual([recs[2], recs[2]]);
    const missing = '00000000-0000-4000-8000-000000000000';
    const [read, none, other] = await readOnlineResults(env.pool, [ids[0], missing, ids[2]]);
    expect(read?.job).toMatchObject({ id: ids[0], status: 'queued', model_name: 'penguins' });
    expect(read?.predictions).toEqual([]); // a job with no result rows yet still reads back
    expect(none).toBeNull();
    expect(other?.job).toMatchObject({ id: ids[2], rows_total: 2 }); // several jobs read by one query, each under its own id
  });

  it('concurrent submissions with wait each get their own, correct predictions, stored in Postgres', async () => {
    const recs = readCsv(demo.penguins.holdoutCsv).slice(0, 24);
    const want = await scoreDirectly(demo.penguins.onnx, demo.penguins.signature, recs, { output: 'probabilities' });
    // What the worker says when it finishes them (the api's own subscriber hears the same).
    const heard = new Map<string, FinishedJob>();
    let onHeard = () => {};
    const sub = createRedis(env.config);
    sub.on('message', (_ch: string, m: string) => {
      parseFinishedMessage(m).forEach((f) => heard.set(f.id, f));
      onHeard();
    });
    await sub.subscribe(jobDoneChannel(env.config.redisPrefix));
    const bodies = await Promise.all(
      recs.map(async (rec) => {
        const res = await c.postJson('/v1/predictions', { model: 'penguins', inputs: [rec], wait: 20 });
        const body = await res.json();
        expect(res.status, JSON.stringify(body)).toBe(200);
        return body;
      }),
    );
    const labels = demo.penguins.signature.labels!;
    bodies.forEach((b, i) => {
      expect(b.status).toBe('completed');
      expect(b.predictions).toHaveLength(1);
      expect(b.predictions[0].passthrough).toEqual({ id: recs[i].id });
      expect(b.predictions[0].prediction).toBe(labels[want[i].indexOf(Math.max(...want[i]))]);
    });
    // Each job's wake-up message carried its result, and the answer is that result, the same to the
    // JSON as reading it back.
    await new Promise<void>((resolve) => (onHeard = () => bodies.every((b) => heard.has(b.id)) && resolve())());
    sub.disconnect();
    for (const b of bodies) {
      const inline = inlineResult(heard.get(b.id)!);
      expect(inline?.predictions.map((r) => r.passthrough)).toEqual(b.predictions.map((p: { passthrough: { id: string } }) => [p.passthrough.id]));
      const { predictions, ...job } = b;
      expect(await (await c.get(`/v1/jobs/${b.id}`)).json()).toEqual(job);
      expect((await (await c.get(`/v1/jobs/${b.id}/results?format=json`)).json()).data).toEqual(predictions);
    }
    const rows = await storedRows(env.pool, bodies.map((b) => b.id));
    expect(new Map(rows.map((r) => [r.job_id, r.passthrough![0]]))).toEqual(new Map(bodies.map((b, i) => [b.id, recs[i].id])));
  });
});
