// The shape floor, worker side (see shapeFloorApi.ts): a BullMQ worker that scores the records it
// carries with onnxruntime on its own thread, commits the result (UPDATE, committed) and PUBLISHes
// the answer to the api. Nothing of Sluice's code.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import * as ort from 'onnxruntime-node';
import pg from 'pg';
import { benchModel, COLUMNS, LABELS } from './common.js';

const env = process.env;
const prefix = env.REDIS_PREFIX!;
const { onnx, signature } = benchModel();
const mean = signature.mean as number[];
const std = signature.std as number[];
const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 8 });
const redis = new Redis(env.REDIS_URL!, { maxRetriesPerRequest: null });
const channel = `${prefix}:shape-floor-done`;

const worker = new Worker<{ id: string; records: Record<string, number>[] }>('shape-floor', async (job) => {
  const { id, records } = job.data;
  const x = new Float32Array(records.length * 20);
  records.forEach((r, i) => COLUMNS.forEach((c, j) => (x[i * 20 + j] = (Number(r[c]) - mean[j]) / std[j])));
  const out = await session.run({ input: new ort.Tensor('float32', x, [records.length, 20]) });
  const p = out.probabilities.data as Float32Array;
  const predictions = records.map((_, i) => {
    const s = Array.from(p.subarray(i * 3, i * 3 + 3));
    return { prediction: LABELS[s.indexOf(Math.max(...s))], probabilities: Object.fromEntries(LABELS.map((l, k) => [l, s[k]])) };
  });
  await pool.query({ name: 'shape_finish', text: 'UPDATE shape_floor SET result = $2, done = true WHERE id = $1 AND NOT done', values: [id, JSON.stringify(predictions)] });
  await redis.publish(channel, JSON.stringify({ id, predictions }));
}, { connection: redis, prefix, concurrency: 64 });
await worker.waitUntilReady();
process.send?.({ ready: true });
process.channel?.unref();
process.on('SIGTERM', async () => {
  await worker.close();
  redis.disconnect();
  await pool.end();
  process.exit(0);
});
