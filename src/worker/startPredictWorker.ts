import { Queue } from 'bullmq';
import type { Config } from '../config.js';
import { assertMigrated } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { JobFinishedNotifier } from '../jobs/finished.js';
import { createLogger, type Logger } from '../log.js';
import { jobDoneChannel, jobProgressChannel, QUEUES } from '../queue/queues.js';
import { createRedis } from '../queue/redis.js';
import { startDeliveryWorker } from '../webhooks/deliveryWorker.js';
import { startChunkWorkers } from './chunkWorkers.js';
import { startHousekeeping } from './housekeeping.js';
import { checkModelCacheDir, ModelCacheDirError } from './modelCacheDir.js';
import { ModelCache } from './models.js';
import { createScoring } from './scoring.js';
import { checkRedis } from './startupChecks.js';

export interface PredictWorker {
  /** Inference threads this worker runs. */
  threads: number;
  /**
   * What SIGTERM asks for: stop taking chunks, finish those in hand (Worker.close waits for active
   * jobs), then close threads, queues, Redis and Postgres. Bounding the wait is the caller's
   * business: chunks still in hand when a process gives up are re-offered by the stalled check.
   */
  close(): Promise<void>;
  /**
   * After a bug escaped every handler: take no new chunk (each start would count against that
   * chunk's bound for nothing) and release the inference threads, which must let go of their
   * onnxruntime sessions before they are torn down. Chunks in hand are not waited for.
   */
  abandon(): Promise<void>;
}

/**
 * A worker: consumes the chunk queues (and webhook deliveries, per WORKER_QUEUES), scores on
 * inference threads, and keeps house (reconciler, watchdog, retention). Resolves once it takes
 * work and has reconciled Redis with Postgres; refuses to start on a schema it does not know.
 * Stateless: run as many as needed, in as many processes.
 */
export async function startPredictWorker(config: Config, opts: { log?: Logger } = {}): Promise<PredictWorker> {
  const log = opts.log ?? createLogger(config, 'worker');
  // Before anything opens: a worker that cannot keep model files would accept chunks and fail them all.
  if (config.worker.queues.includes('predict')) {
    await checkModelCacheDir(config.worker.modelCacheDir).catch((err) => {
      if (err instanceof ModelCacheDirError) log.error({ setting: 'MODEL_CACHE_DIR', code: err.code }, err.message);
      throw err;
    });
  }
  const pool = createPool(config, config.worker.concurrency + config.worker.interactiveConcurrency / 8 + 4);
  await assertMigrated(pool).catch(async (err) => {
    await pool.end();
    throw err;
  });

  const connection = createRedis(config);
  await checkRedis(connection, log);
  const producer = createRedis(config);
  const prefix = config.redisPrefix;
  const queues = {
    predict: new Queue(QUEUES.predict, { connection: producer, prefix }),
    interactive: new Queue(QUEUES.interactive, { connection: producer, prefix }),
    webhooks: new Queue(QUEUES.webhooks, { connection: producer, prefix }),
  };
  const notify = new JobFinishedNotifier(producer, jobDoneChannel(prefix), queues.webhooks, log, jobProgressChannel(prefix));
  const scoring = createScoring(config, log);
  const models = new ModelCache(pool, config.worker.modelCacheDir);

  const running: { close(): Promise<void> }[] = [];
  if (config.worker.queues.includes('predict')) running.push(...startChunkWorkers({ config, pool, log, models, notify, scoring, connection }));
  const webhookConnection = config.worker.queues.includes('webhooks') ? createRedis(config) : null;
  if (webhookConnection) running.push(startDeliveryWorker({ config, pool, connection: webhookConnection, log }));

  const housekeeping = startHousekeeping({ config, pool, queues, notify, log, redis: producer });
  await housekeeping.ready;
  log.info({ queues: config.worker.queues, threads: scoring.threads, concurrency: config.worker.concurrency }, 'sluice worker started');

  let closing: Promise<void> | undefined;
  return {
    threads: scoring.threads,
    close() {
      closing ??= (async () => {
        log.info({ graceMs: config.worker.shutdownGraceMs }, 'stopping: finishing chunks in hand, taking no new work');
        const housekeepingStopped = housekeeping.stop();
        await Promise.allSettled(running.map((w) => w.close()));
        await housekeepingStopped;
        await scoring.close();
        await Promise.allSettled(Object.values(queues).map((q) => q.close()));
        connection.disconnect();
        producer.disconnect();
        webhookConnection?.disconnect();
        await pool.end();
        log.info('stopped');
      })();
      return closing;
    },
    abandon() {
      void housekeeping.stop();
      for (const w of running) void w.close().catch(() => {});
      return scoring.close();
    },
  };
}
