import { Queue } from 'bullmq';
import type { Config } from '../config.js';
import { assertMigrated } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { JobFinishedNotifier } from '../jobs/finished.js';
import { createLogger, type Logger } from '../log.js';
import { jobDoneChannel, jobProgressChannel, QUEUES } from '../queue/queues.js';
import { createRedis } from '../queue/redis.js';
import { pingConnection } from '../db/pingConnection.js';
import type { JobRow } from '../db/jobRow.js';
import { logJobEnd } from '../jobs/jobEndLog.js';
import { countRedisReconnects, watchPgPool } from '../metrics/collectors.js';
import { recordJobEnds } from '../metrics/jobEnds.js';
import { startMetricsServer, type MetricsServer } from '../metrics/metricsServer.js';
import { configureMetrics, series } from '../metrics/series.js';
import { queueTelemetry } from '../tracing/bullmq.js';
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
  /** Where /metrics, /healthz and /readyz answer (WORKER_METRICS_PORT; 0 asks for a free one); null with METRICS_ENABLED=false. */
  metricsPort: number | null;
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
  // Before anything records: the process's registry (no-ops with METRICS_ENABLED=false).
  configureMetrics({ enabled: config.metrics.enabled, role: 'worker', modelLabels: config.metrics.modelLabels, modelLabelLimit: config.metrics.modelLabelLimit });
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

  watchPgPool(pool);
  const connection = createRedis(config);
  await checkRedis(connection, log);
  const producer = createRedis(config);
  countRedisReconnects(connection, 'worker');
  countRedisReconnects(producer, 'producer');
  const prefix = config.redisPrefix;
  const queues = {
    predict: new Queue(QUEUES.predict, { connection: producer, prefix, telemetry: queueTelemetry() }),
    interactive: new Queue(QUEUES.interactive, { connection: producer, prefix, telemetry: queueTelemetry() }),
    webhooks: new Queue(QUEUES.webhooks, { connection: producer, prefix, telemetry: queueTelemetry() }),
  };
  // Ends this worker committed (a job's last chunk, the watchdog) are counted and logged here.
  const onEnded = (jobs: JobRow[]) => {
    recordJobEnds(jobs);
    for (const job of jobs) logJobEnd(log, job);
  };
  const notify = new JobFinishedNotifier(producer, jobDoneChannel(prefix), queues.webhooks, log, jobProgressChannel(prefix), onEnded);
  const scoring = createScoring(config, log);
  const models = new ModelCache(pool, config.worker.modelCacheDir);

  const running: { close(): Promise<void> }[] = [];
  if (config.worker.queues.includes('predict')) running.push(...startChunkWorkers({ config, pool, log, models, notify, scoring, connection }));
  const webhookConnection = config.worker.queues.includes('webhooks') ? createRedis(config) : null;
  if (webhookConnection) countRedisReconnects(webhookConnection, 'webhooks');
  if (webhookConnection) running.push(startDeliveryWorker({ config, pool, connection: webhookConnection, log }));

  const housekeeping = startHousekeeping({ config, pool, queues, notify, log, redis: producer });
  await housekeeping.ready;
  // Readiness (/readyz): what this worker needs to score a chunk, each check said by name when it fails.
  const readiness = {
    postgres: async () => {
      const c = await pool.connect();
      try {
        await pingConnection(c);
      } finally {
        c.release();
      }
    },
    redis: () => connection.ping(),
    ...(config.worker.queues.includes('predict')
      ? {
          inference_threads: async () => {
            const alive = scoring.alive();
            if (alive < scoring.threads) throw new Error(`${alive} of ${scoring.threads} inference threads alive`);
          },
          model_cache: () => checkModelCacheDir(config.worker.modelCacheDir).catch((err: Error) => {
            throw new Error(err instanceof ModelCacheDirError ? `MODEL_CACHE_DIR is not writable (${err.code})` : err.message);
          }),
        }
      : {}),
  };
  let metrics: MetricsServer | null = null;
  // Housekeeping stops beside the workers (its in-flight pass finishes meanwhile), then the rest.
  const closeAll = async () => {
    const housekeepingStopped = housekeeping.stop();
    await Promise.allSettled(running.map((w) => w.close()));
    await housekeepingStopped;
    await scoring.close();
    await Promise.allSettled(Object.values(queues).map((q) => q.close()));
    connection.disconnect();
    producer.disconnect();
    webhookConnection?.disconnect();
    await pool.end();
  };
  if (config.metrics.enabled) {
    metrics = await startMetricsServer({ host: config.metrics.host, port: config.metrics.workerPort, readiness }).catch(async (err: Error) => {
      await closeAll();
      throw new Error(`the metrics listener could not start on ${config.metrics.host}:${config.metrics.workerPort} (WORKER_METRICS_PORT): ${err.message}`);
    });
  }
  series.ready.set(1);
  log.info({ queues: config.worker.queues, threads: scoring.threads, concurrency: config.worker.concurrency, metricsPort: metrics?.port ?? null }, 'sluice worker started');

  let closing: Promise<void> | undefined;
  return {
    threads: scoring.threads,
    metricsPort: metrics?.port ?? null,
    close() {
      closing ??= (async () => {
        metrics?.stopping();
        log.info({ graceMs: config.worker.shutdownGraceMs }, 'stopping: finishing chunks in hand, taking no new work');
        await closeAll();
        await metrics?.close();
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
