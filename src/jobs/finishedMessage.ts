// The wake-up message a worker publishes after a commit that finished jobs (finished.ts), and its
// reading in the api (waiter.ts). A small job's message carries its result: the job row as the
// finishing commit left it and its rows as stored (src/results/resultRows.ts), so a request waiting on it
// answers without reading Postgres back. The commit comes first, so what the message says is what
// is stored.
import { decodeResultRows } from '../results/resultRows.js';
import type { OnlineResult } from './online.js';
import type { JobRow } from '../db/jobRow.js';

/**
 * Every api process receives every message (and parses it on its event loop), so only results this
 * small ride along, and a message carries at most MESSAGE_RESULTS_MAX_BYTES of them (counted before
 * base64, which adds a third); a job beyond either is named by id and read from Postgres by the
 * request that waited for it.
 */
export const INLINE_RESULT_MAX_BYTES = 32 * 1024;
export const MESSAGE_RESULTS_MAX_BYTES = 256 * 1024;

export interface FinishedJob {
  id: string;
  /** The job's tenant, so live progress (jobEvents.ts) can tell a tenant's watchers; absent from older workers' messages. */
  tenant?: string;
  /** The job row and its stored rows (base64), for a small job whose rows all came in this commit. */
  job?: JobRow;
  rows?: string;
}

/** The message for jobs a commit finished; `rows` given for a job means they are all its results. */
export function finishedMessage(jobs: { job: JobRow; rows?: Uint8Array }[]): string {
  let budget = MESSAGE_RESULTS_MAX_BYTES;
  return JSON.stringify(
    jobs.map(({ job, rows }): FinishedJob => {
      if (!rows || rows.length > INLINE_RESULT_MAX_BYTES || rows.length > budget) return { id: job.id, tenant: job.tenant_id };
      budget -= rows.length;
      return { id: job.id, tenant: job.tenant_id, job, rows: Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength).toString('base64') };
    }),
  );
}

/** The jobs a message names. Also reads the plain space-separated ids of earlier workers. */
export function parseFinishedMessage(message: string): FinishedJob[] {
  if (!message.startsWith('[')) return message.split(' ').map((id) => ({ id }));
  try {
    const parsed: unknown = JSON.parse(message);
    return Array.isArray(parsed) ? parsed.filter((j): j is FinishedJob => typeof j?.id === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The result a message carried for a job, with the row's timestamps as Dates again; null if none,
 * or if it does not read as one (the caller then reads Postgres).
 */
export function inlineResult(f: FinishedJob): OnlineResult | null {
  if (f.rows === undefined) return null;
  const job = messageJob(f);
  if (!job) return null;
  try {
    // A small job is one chunk: its rows are 1 .. rows_total.
    return { job, predictions: decodeResultRows({ first_row: 1, row_count: job.rows_total, rows: Buffer.from(f.rows, 'base64'), error: null }) };
  } catch {
    return null;
  }
}

/** The job row a message carried (a small job's), its timestamps Dates again; null if none. */
export function messageJob(f: FinishedJob): JobRow | null {
  if (!f.job?.created_at) return null;
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
  return { ...f.job, created_at: date(f.job.created_at)!, started_at: date(f.job.started_at), finished_at: date(f.job.finished_at), progressed_at: date(f.job.progressed_at) };
}
