// The shape floor, intake side: a durable single prediction done the shortest way the fixed shape
// allows, with the product's own packages and none of Sluice's code (no keys, limits, validation,
// model registry, metrics, tracing, logs). An Express handler stores the input (INSERT, committed),
// adds a BullMQ job carrying the records, and answers when the worker's PUBLISH says it is done
// (shapeFloorWorker.ts scores it and commits the result first). What it costs beside the in-handler
// floor (floorServer.ts) is what the shape itself costs here: Express, pg, BullMQ and ioredis
// between four processes. Started as its own process by the bench, like the floor.
import { randomUUID } from 'node:crypto';
import express from 'express';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { listenForBench } from './floorParts.js';

const env = process.env;
const prefix = env.REDIS_PREFIX!;
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 8 });
await pool.query('CREATE TABLE IF NOT EXISTS shape_floor (id uuid PRIMARY KEY, payload jsonb NOT NULL, result jsonb, done boolean NOT NULL DEFAULT false)');
const redis = new Redis(env.REDIS_URL!, { maxRetriesPerRequest: null });
const queue = new Queue('shape-floor', { connection: redis, prefix });
const sub = new Redis(env.REDIS_URL!);
const waiting = new Map<string, (result: unknown) => void>();
sub.on('message', (_channel: string, message: string) => {
  const { id, predictions } = JSON.parse(message) as { id: string; predictions: unknown };
  waiting.get(id)?.(predictions);
});
await sub.subscribe(`${prefix}:shape-floor-done`);

const app = express();
app.use(express.json());
app.post('/v1/predictions', async (req, res) => {
  const id = randomUUID();
  const records = req.body.inputs as unknown[];
  const done = new Promise((resolve) => waiting.set(id, resolve));
  await pool.query({ name: 'shape_insert', text: 'INSERT INTO shape_floor (id, payload) VALUES ($1, $2)', values: [id, JSON.stringify(records)] });
  await queue.add('p', { id, records }, { removeOnComplete: true, removeOnFail: true });
  const predictions = await done;
  waiting.delete(id);
  res.json({ id, status: 'completed', predictions });
});
const server = listenForBench(app, Number(env.PORT ?? 0));
process.on('SIGTERM', () => server.close(async () => {
  await queue.close();
  sub.disconnect();
  redis.disconnect();
  await pool.end();
  process.exit(0);
}));
