import { Queue } from 'bullmq';
import type { LastUsedRecorder } from './auth/last-used.js';
import type { Config } from './config.js';
import { assertMigrated } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { createApp } from './http/app.js';
import { Lookups } from './http/lookups.js';
import { JobFinishedNotifier } from './jobs/finished.js';
import { JobWaiter } from './jobs/waiter.js';
import { createLogger } from './log.js';
import { jobDoneChannel, QUEUES } from './queue/payloads.js';
import { createRedis } from './queue/redis.js';

/** Wires the api's dependencies; the caller listens. Refuses to start on a schema it does not know. */
export async function buildApi(config: Config) {
  const log = createLogger(config, 'api');
  const pool = createPool(config, 20);
  await assertMigrated(pool);
  // Fail fast while Redis is down: a submission is stored in Postgres and the reconciler enqueues it.
  const redis = createRedis(config, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  await new Promise<void>((resolve) => (redis.status === 'ready' ? resolve() : redis.once('ready', () => resolve())));
  const sub = createRedis(config);
  const queueOpts = { connection: redis, prefix: config.redisPrefix };
  const queues = { predict: new Queue(QUEUES.predict, queueOpts), interactive: new Queue(QUEUES.interactive, queueOpts), webhooks: new Queue(QUEUES.webhooks, queueOpts) };
  for (const q of Object.values(queues)) q.on('error', () => {});
  const channel = jobDoneChannel(config.redisPrefix);
  const waiter = new JobWaiter(sub, channel);
  await waiter.start();
  const notify = new JobFinishedNotifier(redis, channel, queues.webhooks, log);
  // The caches are bypassed until their LISTEN connection is up (see lookups.ts): not waited for here.
  const lookups = new Lookups(pool, { connectionString: config.databaseUrl, log });
  void lookups.start();
  const app = createApp({ config, pool, redis, queues, waiter, notify, log, lookups });
  return {
    app,
    log,
    lookups,
    async close() {
      // Last-use times noted since the last flush would otherwise be lost.
      const lastUsed = app.locals.lastUsed as LastUsedRecorder | undefined;
      lastUsed?.stop();
      await lastUsed?.flush();
      await Promise.allSettled(Object.values(queues).map((q) => q.close()));
      await waiter.close();
      await lookups.close();
      redis.disconnect();
      await pool.end();
    },
  };
}
