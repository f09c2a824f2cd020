// The shape floor, worker side (see shapeFloorApi.ts): a BullMQ worker that scores the records it
// carries with onnxruntime on its own thread, commits the result (UPDATE, committed) and PUBLISHes
// the answer to the api. Nothing of Sluice's code.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { benchScorer } from './floorParts.js';

const env = process.env;
const prefix = env.REDIS_PREFIX!;
const score = await benchScorer();
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 8 });
const redis = new Redis(env.REDIS_URL!, { maxRetriesPerRequest: null });
const channel = `${prefix}:shape-floor-done`;

const worker = new Worker<{ id: string; records: Record<string, number>[] }>('shape-floor', async (job) => {
  const { id, records } = job.data;
  const predictions = await score(records);
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
