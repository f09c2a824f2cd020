import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Config } from '../config.js';
import { finishChunks, type ChunkOutcome, type Finished } from '../jobs/finishChunks.js';
import type { JobFinishedNotifier } from '../jobs/finished.js';
import { createGroupCommitter } from '../jobs/groupCommit.js';
import type { Logger } from '../log.js';
import { QUEUES } from '../queue/queues.js';
import { createChunkProcessor } from './chunkProcessor.js';
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
  connection: Redis;
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
  const smallJobCommits = createGroupCommitter<ChunkOutcome, Finished>({ write: finishAlone, maxItems: 256, concurrency: 2 });

  const bulk = createChunkProcessor({ ...deps, finish: finishAlone, infer: scoring.score });
  const interactive = createChunkProcessor({
    ...deps,
    finish: (os) => Promise.all(smallJobCommits.submitMany(os)),
    infer: scoring.scoreBatched,
  });
  const workerOpts = {
    connection, prefix: config.redisPrefix,
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
    maxStalledCount: config.worker.maxStalledCount,
  };
  const workers = [
    new Worker(QUEUES.predict, bulk, { ...workerOpts, concurrency: config.worker.concurrency }),
    new Worker(QUEUES.interactive, interactive, { ...workerOpts, concurrency: config.worker.interactiveConcurrency }),
  ];
  for (const w of workers) {
    w.on('error', (err) => log.warn({ err: err.message }, 'queue connection error'));
    w.on('failed', (job, err) => log.warn({ job: job?.id, err: err.message }, 'chunk attempt failed'));
  }
  return workers;
}
