import { UnrecoverableError, Worker } from 'bullmq';
import type { RedisClient } from '../queue/redis.js';
import type pg from 'pg';
import type { Config } from '../config.js';
import { finishChunks, type ChunkOutcome, type Finished } from '../jobs/finishChunks.js';
import { finishSmallJobs } from '../jobs/finishSmallJobs.js';
import type { JobFinishedNotifier } from '../jobs/finished.js';
import { createGroupCommitter } from '../jobs/groupCommit.js';
import type { Logger } from '../log.js';
import { QUEUES } from '../queue/queues.js';
import { queueTelemetry } from '../tracing/bullmq.js';
import { createChunkProcessor } from './chunkProcessor.js';
import { chunkRecorder } from '../metrics/chunkRecorder.js';
import type { ModelCache } from './models.js';
import type { Scoring } from './scoring.js';
import { viewContext } from '../jobs/view.js';

export interface ChunkWorkersDeps {
  config: Config;
  pool: pg.Pool;
  log: Logger;
  models: ModelCache;
  notify: JobFinishedNotifier;
  scoring: Scoring;
  /** The connection the BullMQ workers share (they duplicate it for their blocking reads). */
  connection: RedisClient;
}

/**
 * The consumers of the two chunk queues: batch chunks scored one by one and committed alone;
 * small jobs' chunks scored through the batcher and committed in groups.
 */
export function startChunkWorkers(deps: ChunkWorkersDeps): Worker[] {
  const { config, pool, log, scoring, connection } = deps;
  const finishArgs = [viewContext(config), config.webhooks.progressIntervalMs] as const;
  const finishAlone = (os: ChunkOutcome[]) => finishChunks(pool, os, ...finishArgs);
  // Small jobs finished together commit together: one transaction of a fixed number of round trips
  // for every job of a batch (whatever arrives while a commit is in flight goes in the next one).
  // Most of them need one statement and no transaction (finishSmallJobs.ts).
  const smallJobCommits = createGroupCommitter<ChunkOutcome, Finished>({ write: (os) => finishSmallJobs(pool, os, ...finishArgs), maxItems: 256, concurrency: 2, span: 'small jobs commit' });

  const bulk = createChunkProcessor({ ...deps, finish: finishAlone, infer: scoring.score, record: chunkRecorder(QUEUES.predict) });
  const interactive = createChunkProcessor({
    ...deps,
    finish: (os) => Promise.all(smallJobCommits.submitMany(os)),
    infer: scoring.scoreBatched,
    record: chunkRecorder(QUEUES.interactive),
  });
  const workerOpts = {
    connection, prefix: config.redisPrefix,
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
    maxStalledCount: config.worker.maxStalledCount,
    telemetry: queueTelemetry(),
  };
  const workers = [
    new Worker(QUEUES.predict, bulk, { ...workerOpts, concurrency: config.worker.concurrency }),
    new Worker(QUEUES.interactive, interactive, { ...workerOpts, concurrency: config.worker.interactiveConcurrency }),
  ];
  for (const w of workers) {
    const record = chunkRecorder(w.name);
    w.on('error', (err) => log.warn({ err: err.message }, 'queue connection error'));
    w.on('failed', (job, err) => {
      // A group's first chunk names it (its chunks may belong to many jobs).
      const data = job?.data as { jobId?: string; seq?: number; chunks?: { jobId: string; seq: number }[] } | undefined;
      const ref = data?.chunks?.[0] ?? data;
      const willRetry = !!job && !(err instanceof UnrecoverableError) && job.attemptsMade < (job.opts.attempts ?? 1);
      record.attemptFailed(data?.chunks?.length ?? 1, willRetry);
      log.warn({ job_id: ref?.jobId, chunk: ref?.seq, chunks: data?.chunks?.length, bullmq_job: job?.id, attempt: job?.attemptsMade, will_retry: willRetry, err: err.message }, 'chunk attempt failed');
    });
  }
  return workers;
}
