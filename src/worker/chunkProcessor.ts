import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type pg from 'pg';
import type { Config } from '../config.js';
import type { ChunkOutcome, Finished } from '../db/finishChunk.js';
import { loadChunk, type LoadedChunk } from '../db/loadChunk.js';
import { isUnavailable } from '../http/problems.js';
import { encodeCopyRows } from '../inference/copy-encode.js';
import type { Part, PartResult } from '../inference/thread.js';
import type { JobFinishedNotifier } from '../jobs/finished.js';
import { FINAL_STATUSES } from '../jobs/view.js';
import type { Logger } from '../log.js';
import { ChunkRef } from '../queue/payloads.js';
import type { ModelCache, WorkerModel } from './models.js';

export interface ChunkProcessorDeps {
  config: Config;
  pool: pg.Pool;
  log: Logger;
  models: ModelCache;
  notify: JobFinishedNotifier;
  /** Commits a chunk's outcome: batch chunks one by one, small jobs group-committed with others. */
  finish: (outcome: ChunkOutcome) => Promise<Finished>;
  /** Scores one part: batch chunks go straight to the thread pool, small jobs through the dynamic batcher. */
  infer: (model: WorkerModel, part: Part) => Promise<PartResult>;
}

const DB_RETRY_MS = 2000;

/**
 * One chunk: load it from Postgres, score it on an inference thread, commit its results.
 * Failures are sorted by what retrying could change:
 *  - a malformed queue payload: unrecoverable;
 *  - Postgres unavailable: after a pause, put back on the queue without spending a BullMQ attempt;
 *  - the model fails on this chunk (InferenceError): retried by BullMQ; on the last attempt, or
 *    once the chunk has been started too often (crash loops), its rows get errors and the job goes on.
 */
export function createChunkProcessor(deps: ChunkProcessorDeps) {
  const { config, pool, log } = deps;
  const maxStarts = config.worker.chunkAttempts + config.worker.maxStalledCount + 1;

  return async (job: Job, token?: string) => {
    const parsed = ChunkRef.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed chunk reference: ${parsed.error.message}`);
    const ref = parsed.data;
    try {
      const chunk = await loadChunk(pool, ref);
      if (!chunk || chunk.status === 'done' || FINAL_STATUSES.includes(chunk.jobStatus) || !chunk.payload) return 'skipped';
      let outcome: ChunkOutcome;
      if (chunk.starts > maxStarts) {
        outcome = failedChunk(ref, chunk, `the chunk was started ${chunk.starts - 1} times without finishing (its worker crashed or stalled each time)`, 'chunk_abandoned');
      } else {
        outcome = await score(ref, chunk, job);
      }
      const res = await deps.finish(outcome);
      if (res.applied) await deps.notify.afterCommit(res);
      return res.applied ? 'done' : 'duplicate';
    } catch (err) {
      if (isUnavailable(err) && token) {
        // Back off holding the slot (the lock keeps being renewed), so a worker does not churn
        // through the whole queue putting every chunk back while Postgres is away.
        log.warn({ err: (err as Error).message, chunk: ref }, 'database unavailable; chunk put back');
        await new Promise((r) => setTimeout(r, DB_RETRY_MS));
        await job.moveToDelayed(Date.now() + DB_RETRY_MS / 2, token);
        throw new DelayedError();
      }
      throw err;
    }
  };

  async function score(ref: ChunkRef, chunk: LoadedChunk, job: Job): Promise<ChunkOutcome> {
    let model: WorkerModel;
    try {
      model = await deps.models.get(chunk.modelVersionId);
    } catch (err) {
      if (isUnavailable(err)) throw err;
      return failedChunk(ref, chunk, `the model could not be loaded: ${(err as Error).message}`, 'model_load_failed');
    }
    const base = { jobId: ref.jobId, firstRow: chunk.firstRow, rowCount: chunk.rowCount, header: chunk.columns, delimiter: chunk.delimiter };
    const part: Part =
      chunk.format === 'csv'
        ? { ...base, format: 'csv', payload: chunk.payload! }
        : { ...base, format: 'json', records: JSON.parse(chunk.payload!.toString('utf8')) };
    try {
      const r = await deps.infer(model, part);
      return { ref, copy: r.copy, succeeded: r.succeeded, failed: r.failed };
    } catch (err) {
      if ((err as Error).name !== 'InferenceError') throw err;
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      log.warn({ err: (err as Error).message, chunk: ref, attempt: job.attemptsMade + 1, last }, 'inference failed on a chunk');
      if (!last) throw err;
      return failedChunk(ref, chunk, `inference failed: ${(err as Error).message}`, 'inference_failed');
    }
  }
}

/** Every row of the chunk gets the error: the job still accounts for each row exactly once. */
function failedChunk(ref: ChunkRef, chunk: LoadedChunk, message: string, code: string): ChunkOutcome {
  const rows = Array.from({ length: chunk.rowCount }, (_, i) => ({ rowNo: chunk.firstRow + i, value: null, scores: null, passthrough: null, error: message }));
  return { ref, copy: encodeCopyRows(ref.jobId, rows), succeeded: 0, failed: chunk.rowCount, jobError: { code, message } };
}
