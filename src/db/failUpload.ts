import type pg from 'pg';
import { getJobRow } from './getJobRow.js';
import type { JobRow } from './jobRow.js';

/**
 * A job whose upload never completed: failed with the reason, its chunks and partial results
 * deleted so nothing of it is scored as if whole, its idempotency key freed so the same upload can
 * be sent again under it. The caller holds the job's locks (lockJobForEnd) inside its transaction.
 */
export async function failUpload(c: pg.ClientBase, jobId: string, code: string, message: string): Promise<JobRow | null> {
  await c.query(
    `UPDATE jobs SET status = 'failed', error_code = $2, error_message = $3, finished_at = now(), idempotency_key = NULL WHERE id = $1`,
    [jobId, code, message],
  );
  await c.query('DELETE FROM job_chunks WHERE job_id = $1', [jobId]);
  await c.query('DELETE FROM prediction_chunks WHERE job_id = $1', [jobId]);
  return getJobRow(c, jobId);
}
