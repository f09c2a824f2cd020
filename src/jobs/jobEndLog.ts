import type { JobRow } from '../db/jobRow.js';
import type { Logger } from '../log.js';

/**
 * One line when a job ends, with its rows, failures, duration and rate, logged by whichever process
 * committed the end (a worker's last chunk; the api for an upload completed after its last chunk,
 * a cancel or an aborted upload). Single predictions' at debug: a busy worker would otherwise log a
 * line for every prediction it answers.
 */
export function logJobEnd(log: Logger, job: JobRow): void {
  const ms = job.finished_at ? job.finished_at.getTime() - job.created_at.getTime() : null;
  const rows = job.rows_succeeded + job.rows_failed;
  log[job.kind === 'online' ? 'debug' : 'info'](
    {
      job_id: job.id, tenant: job.tenant_id, model: job.model_name, version: job.model_version, status: job.status, code: job.error_code ?? undefined,
      rows, failed: job.rows_failed, duration_ms: ms, rows_per_second: ms ? Math.round((rows / ms) * 1000) : null,
    },
    'job finished',
  );
}
