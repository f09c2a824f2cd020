import type pg from 'pg';
import { finishSmallChunks, JobEndedMidFinishError } from '../db/finishSmallChunks.js';
import { isFinal, type JobRow } from '../db/jobRow.js';
import { finishChunks, type ChunkOutcome, type Finished } from './finishChunks.js';
import type { ViewContext } from './view.js';

/**
 * The commit of small jobs' chunks (the interactive queue): what needs nothing but the mark, the
 * store and the counters goes in ONE statement committed alone (src/db/finishSmallChunks.ts: one
 * round trip instead of a transaction's six); the rest, and whatever that statement left alone
 * (a redelivery, a job ended meanwhile, a job owing a webhook), through finishChunks, which
 * decides as it always did. Same answers as finishChunks, one per outcome, in order.
 */
export async function finishSmallJobs(pool: pg.Pool, outcomes: ChunkOutcome[], view: ViewContext, progressIntervalMs: number): Promise<Finished[]> {
  const perJob = new Map<string, number>();
  for (const o of outcomes) perJob.set(o.ref.jobId, (perJob.get(o.ref.jobId) ?? 0) + 1);
  // Row errors go to job_errors and figures to job_chunk_metrics in the same commit: not here.
  const plain = outcomes.filter((o) => perJob.get(o.ref.jobId) === 1 && o.failed === 0 && !o.errors?.length && !o.metrics && !o.jobError);
  let done = new Map<string, JobRow>();
  if (plain.length) {
    try {
      const jobs = await finishSmallChunks(
        pool,
        plain.map((o) => ({ jobId: o.ref.jobId, seq: o.ref.seq, firstRow: o.firstRow, rowCount: o.rowCount, succeeded: o.succeeded, failed: o.failed, rows: o.rows, startedAt: o.startedAt ?? Date.now() })),
      );
      done = new Map(jobs.map((j) => [j.id, j]));
    } catch (err) {
      if (!(err instanceof JobEndedMidFinishError)) throw err;
    }
  }
  const rest = outcomes.filter((o) => !done.has(o.ref.jobId));
  const slow = rest.length ? await finishChunks(pool, rest, view, progressIntervalMs) : [];
  let next = 0;
  return outcomes.map((o): Finished => {
    const job = done.get(o.ref.jobId);
    if (!job) return slow[next++];
    // As recordEnds leaves an ended job: no row failed here, so its error summary is empty.
    if (isFinal(job.status)) job.errors = [];
    return { applied: true, job, finished: isFinal(job.status), deliveries: [] };
  });
}
