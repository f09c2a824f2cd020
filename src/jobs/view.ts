// The job as the API shows it: GET /v1/jobs/{id}, job lists, and webhook payloads all use this.
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
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export type JobStatus = 'receiving' | 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** Columns to select (with jobs j, model_versions mv, models m) to build a JobRow. */
export const JOB_ROW_SQL = `j.id, j.tenant_id, j.kind, j.status, m.name AS model_name, mv.version AS model_version,
  j.rows_total, j.rows_succeeded, j.rows_failed, j.chunks_total, j.chunks_done, j.upload_complete,
  j.error_code, j.error_message, j.callback_url, j.created_at, j.started_at, j.finished_at`;
export const JOB_FROM_SQL = `jobs j JOIN model_versions mv ON mv.id = j.model_version_id JOIN models m ON m.id = mv.model_id`;

export function jobView(j: JobRow, baseUrl = '') {
  const done = j.rows_succeeded + j.rows_failed;
  const self = `${baseUrl}/v1/jobs/${j.id}`;
  return {
    id: j.id,
    object: 'job' as const,
    kind: j.kind,
    status: j.status,
    model: { name: j.model_name, version: j.model_version },
    rows: { total: j.upload_complete ? j.rows_total : null, received: j.rows_total, succeeded: j.rows_succeeded, failed: j.rows_failed },
    progress: j.upload_complete ? (j.rows_total === 0 ? 1 : done / j.rows_total) : null,
    error: j.error_code ? { code: j.error_code, message: j.error_message } : null,
    callback_url: j.callback_url,
    created_at: j.created_at.toISOString(),
    started_at: j.started_at?.toISOString() ?? null,
    finished_at: j.finished_at?.toISOString() ?? null,
    duration_ms: j.finished_at ? j.finished_at.getTime() - j.created_at.getTime() : null,
    links: { self, results: `${self}/results`, deliveries: `${self}/deliveries`, cancel: `${self}/cancel` },
  };
}

export type JobView = ReturnType<typeof jobView>;
