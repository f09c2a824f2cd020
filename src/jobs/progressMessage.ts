// The message published after a commit that moved batch jobs without finishing them (a chunk
// scored, the upload read whole): JobFinishedNotifier (finished.ts) writes it, the api's live
// progress (jobEvents.ts) reads it. Jobs that finish are told on the finished channel instead
// (finishedMessage.ts), and single predictions publish nothing here: their only news is the end.
//
// Compact on purpose: every api process receives every message. It says who the job belongs to
// (so a process with no watcher of the job or its tenant drops it unread) and where the job stands
// (so a status change is sent at once and progress coalesced); the job's full view is read from
// Postgres by a process that has watchers for it, the same view GET /v1/jobs/{id} gives.
import { JOB_STATUSES, type JobRow, type JobStatus } from '../db/jobRow.js';

export interface JobMoved {
  id: string;
  tenant: string;
  status: JobStatus;
  chunks_done: number;
  rows_done: number;
  /** null until the upload is read whole. */
  rows_total: number | null;
}

export function progressMessage(jobs: JobRow[]): string {
  return JSON.stringify(
    jobs.map((j): JobMoved => ({
      id: j.id, tenant: j.tenant_id, status: j.status, chunks_done: j.chunks_done,
      rows_done: j.rows_succeeded + j.rows_failed, rows_total: j.upload_complete ? j.rows_total : null,
    })),
  );
}

const isStatus = (s: unknown): s is JobStatus => (JOB_STATUSES as readonly unknown[]).includes(s);

/** The jobs a message names; entries that do not read as such are dropped (never thrown on). */
export function parseProgressMessage(message: string): JobMoved[] {
  try {
    const parsed: unknown = JSON.parse(message);
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((m): m is JobMoved => typeof m?.id === 'string' && typeof m.tenant === 'string' && isStatus(m.status) && Number.isInteger(m.chunks_done));
  } catch {
    return [];
  }
}
