import type pg from 'pg';
import { getJobRow } from './getJobRow.js';
import type { JobRow } from './jobRow.js';

/**
 * Cancels an unfinished job: pending chunks lose their payload (so nothing scores them), results
 * so far stay readable. The caller holds the job's locks (lockJobForEnd) and checked it is unfinished.
 */
export async function cancelJob(c: pg.ClientBase, jobId: string): Promise<JobRow> {
  await c.query(`UPDATE jobs SET status = 'cancelled', finished_at = now(), progressed_at = now() WHERE id = $1`, [jobId]);
  await c.query(`UPDATE job_chunks SET payload = NULL WHERE job_id = $1 AND status = 'pending'`, [jobId]);
  return (await getJobRow(c, jobId))!;
}
