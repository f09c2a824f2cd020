import type pg from 'pg';
import { FINAL_SQL } from './jobRow.js';

// Retention: each statement is its own short transaction touching a bounded number of rows, so
// deleting a job of millions of rows never holds a long lock, and a crash resumes at the next pass.

/**
 * Replaces the (now empty) job by a tombstone, so its id answers 410 rather than 404. Deliveries and
 * their attempts go with the job (ON DELETE CASCADE; a job has a handful). Only a finished job.
 */
export async function replaceJobByTombstone(pool: pg.Pool, jobId: string): Promise<boolean> {
  const r = await pool.query(
    `WITH gone AS (DELETE FROM jobs WHERE id = $1 AND status IN ${FINAL_SQL} RETURNING id, tenant_id, status, finished_at)
     INSERT INTO expired_jobs (id, tenant_id, status, finished_at) SELECT id, tenant_id, status, finished_at FROM gone
     ON CONFLICT (id) DO NOTHING`,
    [jobId],
  );
  return (r.rowCount ?? 0) > 0;
}
