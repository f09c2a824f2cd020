// The job row as the database holds it: its columns as read by every query that returns a job,
// and its statuses, named once here and spliced into SQL (UNFINISHED_SQL) so TypeScript and the
// statements cannot disagree. The API's view of a job (src/jobs/view.ts) is built from this.

import type { JobErrorSummary } from './selectJobErrors.js';

export const JOB_STATUSES = ['receiving', 'queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A job in one of these can still change; the others are final. */
export const UNFINISHED_STATUSES = ['receiving', 'queued', 'running'] as const satisfies readonly JobStatus[];
export const FINAL_STATUSES = ['completed', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];

export const isFinal = (s: JobStatus): boolean => (FINAL_STATUSES as readonly JobStatus[]).includes(s);

const sqlList = (xs: readonly string[]) => `(${xs.map((x) => `'${x}'`).join(', ')})`;
/** `('receiving', 'queued', 'running')`, for `status IN ${UNFINISHED_SQL}`. */
export const UNFINISHED_SQL = sqlList(UNFINISHED_STATUSES);
/** `('completed', 'failed', 'cancelled')`, for `status IN ${FINAL_SQL}`. */
export const FINAL_SQL = sqlList(FINAL_STATUSES);

export interface JobRow {
  id: string;
  tenant_id: string;
  kind: 'batch' | 'online';
  status: JobStatus;
  model_name: string;
  model_version: number;
  rows_total: number;
  rows_succeeded: number;
  rows_failed: number;
  chunks_total: number;
  chunks_done: number;
  upload_complete: boolean;
  error_code: string | null;
  error_message: string | null;
  callback_url: string | null;
  /** The base of the job's links when PUBLIC_URL is not set (the submitting request's); null before 0011. */
  base_url: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  /** When the job last moved (a chunk done, upload bytes stored); null only in a row published by an older worker. */
  progressed_at: Date | null;
  /** An evaluation job: the column holding the true labels (issue 14, migrations/0014). */
  label_column: string | null;
  /** A compare job: the second version every row is scored with. */
  compare_model: { name: string; version: number } | null;
  /** Store the evaluation on the model version when the job completes (?record=true). */
  record_evaluation: boolean;
  /** Set when the job ends: the merged figures of its chunks (src/evaluation). */
  evaluation: unknown;
  compare_evaluation: unknown;
  agreement: unknown;
  /** sha256 of the upload (jobs.body_digest): kept for evaluation jobs and idempotent uploads. */
  dataset_digest: string | null;
  /** The job whose failed rows this one retries. */
  retry_of: string | null;
  /** How an alias split between versions chose this job's version (src/models/canary.ts). */
  routing: unknown;
  /** Not a column: the job's error summary (selectJobErrors), attached where a view shows it. */
  errors?: JobErrorSummary[];
}

/** Columns to select (with jobs j, model_versions mv, models m) to build a JobRow. */
export const JOB_ROW_SQL = `j.id, j.tenant_id, j.kind, j.status, m.name AS model_name, mv.version AS model_version,
  j.rows_total, j.rows_succeeded, j.rows_failed, j.chunks_total, j.chunks_done, j.upload_complete,
  j.error_code, j.error_message, j.callback_url, j.base_url, j.created_at, j.started_at, j.finished_at, j.progressed_at,
  j.label_column, j.record_evaluation, j.evaluation, j.compare_evaluation, j.agreement, j.body_digest AS dataset_digest, j.retry_of, j.routing,
  CASE WHEN j.compare_model_version_id IS NULL THEN NULL ELSE
    (SELECT json_build_object('name', cm.name, 'version', cmv.version) FROM model_versions cmv JOIN models cm ON cm.id = cmv.model_id
      WHERE cmv.id = j.compare_model_version_id) END AS compare_model`;
export const JOB_FROM_SQL = `jobs j JOIN model_versions mv ON mv.id = j.model_version_id JOIN models m ON m.id = mv.model_id`;
