// What durability itself costs on this machine, step by step, with plain clients and nothing of
// Sluice's: the floor under a durable single prediction. The stored input (an INSERT committed),
// the queue hand-off (a BullMQ add until a worker's processor starts), the stored result (an
// UPDATE and an INSERT committed in one statement) and the wake-up (a PUBLISH until the subscriber
// has it). Each step is timed alone, one at a time, with a pause between, as a lone request finds
// its peers idle (on this machine a peer woken from idle answers 2–4× slower than one kept busy);
// median of n. The sum, beside the in-handler floor, is the least a durable prediction can take
// here whatever the code around it does.
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { median } from './common.js';

export interface DurableFloor {
  requests: number;
  steps: { name: string; ms: number }[];
  /** The steps' medians added up. */
  sum: number;
}

const PAUSE_MS = 2;
const pause = () => new Promise((r) => setTimeout(r, PAUSE_MS));

async function timed(n: number, step: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await step(); // warm: connections, plans, scripts loaded
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    await pause();
    const t = performance.now();
    await step();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

export async function durableFloor(pool: pg.Pool, redisUrl: string, prefix: string, n = 200): Promise<DurableFloor> {
  const steps: { name: string; ms: number }[] = [];
  const payload = JSON.stringify([Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, i / 7]))]);
  await pool.query('CREATE TABLE IF NOT EXISTS bench_floor (id uuid PRIMARY KEY, payload jsonb NOT NULL, result bytea, done boolean NOT NULL DEFAULT false)');
  await pool.query('CREATE TABLE IF NOT EXISTS bench_floor_results (id uuid PRIMARY KEY, result bytea NOT NULL)');
  const ids: string[] = [];
  steps.push({
    name: 'Postgres: INSERT the input, committed (autocommit, fsync)',
    ms: await timed(n, async () => {
      const id = randomUUID();
      ids.push(id);
      await pool.query({ name: 'floor_insert', text: 'INSERT INTO bench_floor (id, payload) VALUES ($1, $2)', values: [id, payload] });
    }),
  });

  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('floor', { connection: redis, prefix });
  let started: (() => void) | undefined;
  const worker = new Worker('floor', async () => started?.(), { connection: redis, prefix, concurrency: 1 });
  await worker.waitUntilReady();
  try {
    steps.push({
      name: 'BullMQ: add → a worker’s processor starts',
      ms: await timed(n, async () => {
        const go = new Promise<void>((resolve) => (started = resolve));
        await queue.add('j', { id: randomUUID() }, { removeOnComplete: true });
        await go;
      }),
    });
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }

  let k = 0;
  const result = Buffer.alloc(48, 1);
  steps.push({
    name: 'Postgres: mark done and store the result in one statement, committed',
    ms: await timed(n, async () => {
      const id = ids[k++ % ids.length];
      await pool.query({
        name: 'floor_finish',
        text: `WITH d AS (UPDATE bench_floor SET done = true WHERE id = $1 RETURNING id)
               INSERT INTO bench_floor_results (id, result) SELECT id, $2 FROM d ON CONFLICT (id) DO UPDATE SET result = excluded.result`,
        values: [id, result],
      });
    }),
  });

  const sub = new Redis(redisUrl);
  const channel = `${prefix}:floor`;
  let heard: (() => void) | undefined;
  sub.on('message', () => heard?.());
  await sub.subscribe(channel);
  try {
    steps.push({
      name: 'Redis: PUBLISH → the subscriber has the message',
      ms: await timed(n, async () => {
        const got = new Promise<void>((resolve) => (heard = resolve));
        await redis.publish(channel, payload);
        await got;
      }),
    });
  } finally {
    sub.disconnect();
    redis.disconnect();
  }
  await pool.query('DROP TABLE bench_floor, bench_floor_results');
  return { requests: n, steps, sum: steps.reduce((a, s) => a + s.ms, 0) };
}
