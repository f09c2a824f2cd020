import type pg from 'pg';
import { recordJobEvent } from '../webhooks/outbox.js';
import { getJobRow, type Advanced } from './advanceJob.js';

/**
 * Ends a job whose upload never completed (client gone, bad CSV, its api process died): failed
 * with the reason, its chunks and partial results deleted so nothing of it is scored as if whole,
 * its idempotency key freed so the same upload can be sent again under it, job.failed recorded.
 * The caller holds the job's locks (lockJobForEnd) inside its transaction.
 */
export async function failUpload(c: pg.ClientBase, jobId: string, code: string, message: string, baseUrl: string): Promise<Advanced> {
  await c.query(
    `UPDATE jobs SET status = 'failed', error_code = $2, error_message = $3, finished_at = now(), idempotency_key = NULL WHERE id = $1`,
    [jobId, code, message],
  );
  await c.query('DELETE FROM job_chunks WHERE job_id = $1', [jobId]);
  await c.query('DELETE FROM prediction_chunks WHERE job_id = $1', [jobId]);
  const job = await getJobRow(c, jobId);
  return { job, finished: true, deliveries: job ? await recordJobEvent(c, job, 'job.failed', baseUrl) : [] };
}
