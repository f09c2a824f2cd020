import type pg from 'pg';
import { addJobErrors } from '../db/addJobErrors.js';
import { bumpJobCounters } from '../db/bumpJobCounters.js';
import { markChunksDone } from '../db/markChunksDone.js';
import { withTransaction } from '../db/pool.js';
import { storeResults } from '../db/storeResults.js';
import type { ChunkRef } from '../queue/chunkJobs.js';
import { recordProgress } from '../webhooks/outbox.js';
import { recordEnds, type Advanced } from './jobEnd.js';
import type { ViewContext } from './view.js';
import type { ChunkMetrics } from '../inference/chunkMeasures.js';
import { insertChunkMetrics } from '../db/insertChunkMetrics.js';

export interface ChunkOutcome {
  ref: ChunkRef;
  firstRow: number;
  rowCount: number;
  /** Every row's result, in order (the result-row codec): predictions and row errors alike. */
  rows: Uint8Array;
  succeeded: number;
  failed: number;
  /** Set when the chunk could not be scored for a job-level reason (model does not load, inference keeps failing). */
  jobError?: { code: string; message: string };
  /** The chunk's row errors by kind (rowErrorKinds.ts), with the first row numbers (1-based) of each. */
  errors?: { code: string; message: string; count: number; firstRows: number[] }[];
  /** Evaluation and compare jobs: the chunk's figures (src/inference/chunkMeasures.ts). */
  metrics?: ChunkMetrics;
  /** When the worker took the chunk (ms since the epoch); the job's started_at when its load did not set one (records from the queue). */
  startedAt?: number;
}

export type Finished = (Advanced & { applied: true }) | { applied: false };

/** A job ended (cancel, watchdog) while a group of its chunks was being finished: finish them one by one. */
export class JobEndedMidGroupError extends Error {}

const key = (r: ChunkRef) => `${r.jobId}_${r.seq}`;

/**
 * The chunks' predictions, their done-marks and their jobs' counters commit together, or not at
 * all. Marking a chunk done takes its row lock first: a redelivered chunk (or one stalled and
 * retried while the first try still runs) waits, then finds it done and changes nothing, so every
 * row ends with exactly one result. Several chunks (the small jobs of one inference batch) go in
 * one transaction of a fixed number of round trips; one chunk is the same with a list of one.
 *
 * Lock order: chunk rows, then job rows. Whatever else ends a job (cancel, aborted upload,
 * watchdog) takes them in the same order (lockJobForEnd), so the two never deadlock. The status
 * check sits on the UPDATE that takes the job row lock: a job that ended while this transaction
 * was storing is seen there, and its chunks go back.
 */
export async function finishChunks(pool: pg.Pool, outcomes: ChunkOutcome[], view: ViewContext, progressIntervalMs: number): Promise<Finished[]> {
  const none = () => outcomes.map((): Finished => ({ applied: false }));
  let isMarked = new Set<string>();
  let advanced: Map<string, Advanced>;
  try {
    advanced = await withTransaction(pool, async (client) => {
      isMarked = await markChunksDone(client, outcomes.map((o) => o.ref));
      const kept = outcomes.filter((o) => isMarked.has(key(o.ref)));
      if (kept.length === 0) throw new NothingApplied();
      await storeResults(client, kept.map((o) => ({ jobId: o.ref.jobId, firstRow: o.firstRow, rowCount: o.rowCount, rows: o.rows })));
      // Before the counters: the commit that ends the job merges every chunk's figures (recordEnds).
      const measured = kept.filter((o) => o.metrics);
      if (measured.length) await insertChunkMetrics(client, measured.map((o) => ({ jobId: o.ref.jobId, seq: o.ref.seq, metrics: o.metrics! })));
      const bumped = await bumpJobCounters(client, kept.map((o) => ({ jobId: o.ref.jobId, succeeded: o.succeeded, failed: o.failed, jobError: o.jobError })));
      if (bumped.length !== new Set(kept.map((o) => o.ref.jobId)).size) {
        if (outcomes.length === 1) throw new NothingApplied();
        throw new JobEndedMidGroupError('a job ended while its chunks were being finished');
      }
      await addJobErrors(client, kept.flatMap((o) => (o.errors ?? []).map((e) => ({ jobId: o.ref.jobId, ...e }))));
      const ends = await recordEnds(client, bumped, view);
      for (const adv of ends.values()) {
        if (!adv.finished && adv.job) adv.deliveries.push(...(await recordProgress(client, adv.job, view, { intervalMs: progressIntervalMs })));
      }
      return ends;
    });
  } catch (err) {
    if (err instanceof NothingApplied) return none();
    throw err;
  }
  // Each job's news (finished, deliveries) goes with its first chunk here, so it is told once.
  const told = new Set<string>();
  return outcomes.map((o): Finished => {
    if (!isMarked.has(key(o.ref))) return { applied: false };
    const adv = advanced.get(o.ref.jobId) ?? { job: null, finished: false, deliveries: [] };
    if (told.has(o.ref.jobId)) return { applied: true, job: adv.job, finished: false, deliveries: [] };
    told.add(o.ref.jobId);
    return { ...adv, applied: true };
  });
}

/** Rolls the transaction back: every chunk was already done, or its job ended meanwhile. */
class NothingApplied extends Error {}
