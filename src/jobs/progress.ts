import type { JobRow } from '../db/jobRow.js';
import { isFinal } from '../db/jobRow.js';

// A job's progress as the API shows it (the job view's `progress`, also in every SSE event):
// how far, how fast, and how long to go. Every figure is null where it is not known yet, never a
// guess: no total before the upload is read whole, no rate before a row is done.

export interface ProgressView {
  /** 0..1; null until the upload is read whole (the total is not known before). */
  fraction: number | null;
  rows_done: number;
  rows_total: number | null;
  /** Rows done per second of the job's time since it started (to now, or to its end). */
  rate_rows_per_second: number | null;
  /** The rows left at that rate; 0 once completed, null when the job will not go on (failed, cancelled). */
  eta_seconds: number | null;
  started_at: string | null;
  /** When the job last moved (a chunk committed, upload bytes stored): jobs.progressed_at. */
  updated_at: string | null;
}

/**
 * Rate over the job's whole running time rather than the last chunks: it needs no history (a view
 * is built from one row), it falls while a job waits behind others (so the ETA grows, as it should),
 * and it is the figure a person compares with the job's duration afterwards.
 */
export function progressView(job: JobRow, now: Date = new Date()): ProgressView {
  const rowsDone = job.rows_succeeded + job.rows_failed;
  const rowsTotal = job.upload_complete ? job.rows_total : null;
  const fraction = rowsTotal === null ? null : rowsTotal === 0 ? 1 : Math.min(1, rowsDone / rowsTotal);
  const end = job.finished_at ?? now;
  const seconds = job.started_at ? (end.getTime() - job.started_at.getTime()) / 1000 : 0;
  const rate = rowsDone > 0 && seconds > 0 ? rowsDone / seconds : null;
  let eta: number | null = null;
  if (job.status === 'completed') eta = 0;
  else if (!isFinal(job.status) && rowsTotal !== null && rate !== null) eta = Math.max(0, rowsTotal - rowsDone) / rate;
  return {
    fraction,
    rows_done: rowsDone,
    rows_total: rowsTotal,
    rate_rows_per_second: rate === null ? null : round(rate, 1),
    eta_seconds: eta === null ? null : round(eta, 1),
    started_at: job.started_at?.toISOString() ?? null,
    updated_at: job.progressed_at?.toISOString() ?? null,
  };
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));
