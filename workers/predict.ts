import { Queue, Worker } from 'bullmq';
import os from 'node:os';
import { loadConfig } from '../src/config.js';
import { assertMigrated } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { createBatcher } from '../src/inference/batcher.js';
import { createInferencePool } from '../src/inference/pool.js';
import type { InferenceTask, Part, PartResult } from '../src/inference/thread.js';
import { finishChunks, type ChunkOutcome, type Finished } from '../src/jobs/finishChunks.js';
import { JobFinishedNotifier } from '../src/jobs/finished.js';
import { createGroupCommitter } from '../src/jobs/groupCommit.js';
import { createLogger } from '../src/log.js';
import { jobDoneChannel, QUEUES } from '../src/queue/payloads.js';
import { createRedis } from '../src/queue/redis.js';
import { createChunkProcessor } from '../src/worker/chunkProcessor.js';
import { ModelCache, type WorkerModel } from '../src/worker/models.js';
import { reconcile } from '../src/worker/reconcile.js';
import { retentionPass } from '../src/worker/retention.js';
import { watchdogPass } from '../src/worker/watchdog.js';
import { checkRedis } from '../src/worker/startupChecks.js';
import { startWebhookWorker } from '../src/webhooks/worker.js';

// A worker process: consumes chunk queues (and webhook deliveries), scores on inference threads,
// and reconciles Redis with Postgres on start and on an interval. Stateless: run as many as needed.
const config = loadConfig(process.env);
const log = createLogger(config, 'worker');
const pool = createPool(config, config.worker.concurrency + config.worker.interactiveConcurrency / 8 + 4);
await assertMigrated(pool).catch((err) => {
  log.fatal(err.message);
  process.exit(1);
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
const notify = new JobFinishedNotifier(producer, jobDoneChannel(prefix), queues.webhooks, log);

const threads = config.worker.inferenceThreads ?? os.availableParallelism();
const inference = createInferencePool({ threads });
let warnedFallback = false;
const taskFor = (model: WorkerModel, parts: Part[]): InferenceTask => ({
  modelPath: model.modelPath, modelKey: model.modelKey, plan: model.plan, signature: model.signature,
  executionProvider: config.worker.executionProvider, intraOpThreads: config.worker.intraOpThreads, batchSize: config.worker.inferenceBatchSize, parts,
});
const runTask = async (task: InferenceTask) => {
  const r = await inference.run(task);
  if (r.fellBack && !warnedFallback) {
    warnedFallback = true;
    log.warn('EXECUTION_PROVIDER=cuda but CUDA could not be used here; running on CPU');
  }
  return r;
};
// A batch holds parts of one model version (batches are keyed by modelKey): its first item's model runs them all.
const batcher = createBatcher<{ model: WorkerModel; part: Part; rowCount: number }, PartResult>({
  maxRows: config.worker.batchMaxRows,
  maxDelayMs: config.worker.batchMaxDelayMs,
  run: async (_modelKey, items) => (await runTask(taskFor(items[0].model, items.map((i) => i.part)))).parts,
});
const modelCache = new ModelCache(pool, config.worker.modelCacheDir);
const deps = { config, pool, log, models: modelCache, notify };
const finishArgs = [config.publicUrl ?? '', config.webhooks.progressIntervalMs] as const;
// Small jobs finished together commit together: one transaction of a fixed number of round trips
// for every job of a batch (whatever arrives while a commit is in flight goes in the next one).
const smallJobCommits = createGroupCommitter<ChunkOutcome, Finished>({ write: (os) => finishChunks(pool, os, ...finishArgs), maxItems: 256, concurrency: 2 });

const workerOpts = {
  connection, prefix,
  lockDuration: config.worker.lockDurationMs,
  stalledInterval: config.worker.stalledIntervalMs,
  maxStalledCount: config.worker.maxStalledCount,
};
const running: { close(): Promise<void> }[] = [];
if (config.worker.queues.includes('predict')) {
  const bulk = createChunkProcessor({ ...deps, finish: (os) => finishChunks(pool, os, ...finishArgs), infer: async (model, part) => (await runTask(taskFor(model, [part]))).parts[0] });
  const interactive = createChunkProcessor({
    ...deps,
    finish: (os) => Promise.all(smallJobCommits.submitMany(os)),
    infer: (model, part) => batcher.submit(model.modelKey, { model, part, rowCount: part.rowCount }),
  });
  for (const w of [
    new Worker(QUEUES.predict, bulk, { ...workerOpts, concurrency: config.worker.concurrency }),
    new Worker(QUEUES.interactive, interactive, { ...workerOpts, concurrency: config.worker.interactiveConcurrency }),
  ]) {
    w.on('error', (err) => log.warn({ err: err.message }, 'queue connection error'));
    w.on('failed', (job, err) => log.warn({ job: job?.id, err: err.message }, 'chunk attempt failed'));
    running.push(w);
  }
}
if (config.worker.queues.includes('webhooks')) running.push(startWebhookWorker({ config, pool, connection: createRedis(config), log }));

// Housekeeping, each on its own interval, never overlapping itself; a failed pass (Postgres or
// Redis down) is logged and tried again next time.
function periodic(name: string, ms: number, fn: () => Promise<unknown>) {
  let inFlight: Promise<void> | null = null;
  const tick = () => {
    if (!inFlight && !stopping) inFlight = fn().then(() => {}, (err) => log.warn({ err: (err as Error).message }, `${name} failed; will try again`)).finally(() => (inFlight = null));
    return inFlight ?? Promise.resolve();
  };
  const timer = setInterval(tick, ms);
  return { tick, async stop() { clearInterval(timer); await inFlight; } };
}
let stopping = false;
const reconciler = periodic('reconcile', config.worker.reconcileIntervalMs, () => reconcile({ pool, ...queues, attempts: config.worker.chunkAttempts, log }));
const watchdog = periodic('watchdog', config.worker.watchdogIntervalMs, () => watchdogPass({ pool, config, notify, log }));
const retention = periodic('retention', config.worker.retentionIntervalMs, () => retentionPass({ pool, config, log }));
await reconciler.tick();
// Redis back after an outage may be a Redis that restarted empty: reconcile at once rather than
// waiting out the interval (a flush without a reconnect is caught by the interval).
let redisUp = true;
producer.on('close', () => (redisUp = false));
producer.on('ready', () => {
  if (redisUp) return;
  redisUp = true;
  log.info('Redis connection back; reconciling');
  void reconciler.tick();
});
void watchdog.tick();
void retention.tick();
log.info({ queues: config.worker.queues, threads, concurrency: config.worker.concurrency }, 'sluice worker started');

// SIGTERM: stop taking chunks, finish those in hand (Worker.close waits for active jobs), then
// close threads, queues, Redis and Postgres, and exit 0. Past SHUTDOWN_GRACE_MS exit 1 instead:
// chunks still in hand are re-offered by the stalled check and scored elsewhere.
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal, graceMs: config.worker.shutdownGraceMs }, 'stopping: finishing chunks in hand, taking no new work');
  const force = setTimeout(() => {
    log.warn('grace period over; exiting with work in hand (it will be redelivered)');
    process.exit(1);
  }, config.worker.shutdownGraceMs);
  force.unref();
  await Promise.allSettled(running.map((w) => w.close()));
  await Promise.allSettled([reconciler.stop(), watchdog.stop(), retention.stop()]);
  await inference.close();
  await Promise.allSettled(Object.values(queues).map((q) => q.close()));
  connection.disconnect();
  producer.disconnect();
  await pool.end();
  log.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// A bug that escapes every handler still ends the process (its state is unknown), but as a logged
// fatal error and exit 1: the inference threads first release their onnxruntime sessions (for at
// most 2 s), since a thread torn down holding one aborts the process natively instead.
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught error; exiting (chunks in hand will be redelivered)');
  stopping = true;
  // Take no new chunk meanwhile: each start would count against that chunk's bound for nothing.
  for (const w of running) void w.close().catch(() => {});
  setTimeout(() => process.exit(1), 2000);
  void inference.close().finally(() => process.exit(1));
});
process.on('SIGINT', () => void shutdown('SIGINT'));
