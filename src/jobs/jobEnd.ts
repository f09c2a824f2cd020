import type pg from 'pg';
import { cancelJob as cancelJobRow } from '../db/cancelJob.js';
import { failStalledJob } from '../db/failStalledJob.js';
import { failUpload } from '../db/failUpload.js';
import { isFinal, UNFINISHED_STATUSES, type JobRow, type JobStatus } from '../db/jobRow.js';
import { lockJobForEnd } from '../db/lockJobForEnd.js';
import { markUploadComplete } from '../db/markUploadComplete.js';
import { withTransaction } from '../db/pool.js';
import { attachErrors } from './errorSummary.js';
import { settleJobStatus } from '../db/settleJobStatus.js';
import type { JobEndEventType } from '../webhooks/eventTypes.js';
import { recordJobEvents } from '../webhooks/outbox.js';
import type { ViewContext } from './view.js';
import { isMeasured, settleJobMetrics } from './jobMetrics.js';

// The one place where a job ends: completed or failed by its counters (the commit of its last
// chunk, or the end of its upload), cancelled, its upload aborted, or stopped by the watchdog.
// Each end happens inside a transaction holding the job's locks and writes the job's end events
// (webhook deliveries) in that same transaction, so a committed end always has its webhooks owed
// and a rolled-back one never does. Ending from outside the chunk path (cancel, abort, stall)
// locks the job's chunks, then the job (lockJobForEnd): the order a finishing chunk takes, so the
// two never deadlock. Callers tell the world after commit (JobFinishedNotifier.afterCommit).

export interface Advanced {
  job: JobRow | null;
  /** True when this transaction moved the job to a final status. */
  finished: boolean;
  deliveries: string[];
}

const EVENT_OF: Partial<Record<JobStatus, JobEndEventType>> = { completed: 'job.completed', failed: 'job.failed', cancelled: 'job.cancelled' };

/**
 * Jobs whose status a statement of this transaction has just settled: those it ended get their end
 * events, in one insert however many (the small jobs of a group commit end together).
 */
export async function recordEnds(client: pg.ClientBase, rows: JobRow[], view: ViewContext): Promise<Map<string, Advanced>> {
  const ended = rows.flatMap((job) => (EVENT_OF[job.status] ? [{ job, type: EVENT_OF[job.status]! }] : []));
  // An evaluation or compare job's figures are merged as it ends, so its end's webhook carries them.
  for (const { job } of ended) if (isMeasured(job)) await settleJobMetrics(client, job);
  // The end's webhook carries the error summary, as GET /v1/jobs/{id} shows it.
  await attachErrors(client, ended.map((e) => e.job));
  const deliveries = await recordJobEvents(client, ended, view);
  return new Map(rows.map((job) => [job.id, { job, finished: deliveries.has(job.id), deliveries: deliveries.get(job.id) ?? [] }]));
}

const ended = async (client: pg.ClientBase, job: JobRow | null, view: ViewContext): Promise<Advanced> =>
  job ? (await recordEnds(client, [job], view)).get(job.id)! : { job: null, finished: false, deliveries: [] };

/** The last byte of an upload is stored: the job moves on (queued, running, or already complete). */
export function completeUpload(pool: pg.Pool, jobId: string, bodyDigest: string | null, view: ViewContext): Promise<Advanced> {
  return withTransaction(pool, async (c) => {
    await markUploadComplete(c, jobId, bodyDigest);
    const job = await settleJobStatus(c, jobId);
    return job ? ended(c, job, view) : { job: null, finished: false, deliveries: [] };
  });
}

export type CancelOutcome = { ended: Advanced & { job: JobRow } } | { notFound: true } | { alreadyFinal: JobStatus };

/** Cancel on behalf of the tenant: pending chunks are not scored, results so far stay readable. */
export function cancel(pool: pg.Pool, jobId: string, tenantId: string, view: ViewContext): Promise<CancelOutcome> {
  return withTransaction(pool, async (c): Promise<CancelOutcome> => {
    const locked = await lockJobForEnd(c, jobId, tenantId);
    if (!locked) return { notFound: true };
    if (isFinal(locked.status)) return { alreadyFinal: locked.status };
    const job = await cancelJobRow(c, jobId);
    return { ended: { ...(await ended(c, job, view)), job } };
  });
}

/**
 * An upload that broke off (client gone, bad CSV, too large): failed with the reason, nothing of it
 * scored as if whole. Null when the job is no longer receiving (it completed or ended meanwhile).
 */
export function abortUpload(pool: pg.Pool, jobId: string, code: string, message: string, view: ViewContext): Promise<Advanced | null> {
  return withTransaction(pool, async (c) => {
    const locked = await lockJobForEnd(c, jobId);
    if (locked?.status !== 'receiving') return null;
    return ended(c, await failUpload(c, jobId, code, message), view);
  });
}

/**
 * Ends a job the watchdog found stuck, after checking under lock that it is still unfinished and
 * still without progress (a chunk finishing meanwhile saves it). Null when it was saved.
 *  - An upload that never completed (its api process died mid-stream): failed `upload_aborted`,
 *    as for a client that disconnects.
 *  - A queued or running job: failed `job_stalled`; every row not yet scored gets an error, so the
 *    job still accounts for each row exactly once; results so far stay readable.
 */
export function endStalledJob(pool: pg.Pool, jobId: string, timeoutMs: number, view: ViewContext): Promise<Advanced | null> {
  return withTransaction(pool, async (c) => {
    const job = await lockJobForEnd(c, jobId);
    const stale = job && (UNFINISHED_STATUSES as readonly JobStatus[]).includes(job.status) && job.idle_ms >= timeoutMs;
    if (!job || !stale) return null;
    const minutes = Math.round(timeoutMs / 60_000);
    const idle = minutes >= 1 ? `${minutes} minute(s)` : `${Math.round(timeoutMs / 1000)} second(s)`;
    if (job.status === 'receiving') {
      const message = `The upload stopped before it was complete and nothing arrived for ${idle}; nothing was scored. Upload the file again.`;
      return ended(c, await failUpload(c, jobId, 'upload_aborted', message), view);
    }
    const message = `The job made no progress for ${idle} (JOB_STALL_TIMEOUT_MS) and was stopped; rows not scored by then carry this error.`;
    const row = await failStalledJob(c, jobId, 'not scored: the job made no progress and was stopped by the watchdog', message);
    return ended(c, row, view);
  });
}
