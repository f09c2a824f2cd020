import type pg from 'pg';
import { getJobRow } from './getJobRow.js';
import type { JobRow } from './jobRow.js';

// One result row per chunk not done, carrying the error of all its rows.
const ERROR_ROWS = `
INSERT INTO prediction_chunks (job_id, first_row, row_count, error)
SELECT c.job_id, c.first_row, c.row_count, $2 FROM job_chunks c
 WHERE c.job_id = $1 AND c.status = 'pending'
ON CONFLICT DO NOTHING`;

/**
 * Fails a queued or running job that made no progress: every row of every chunk not yet done gets
 * `rowError`, so the job still accounts for each row exactly once; results so far stay readable.
 * The caller holds the job's locks (lockJobForEnd) and has checked, under them, that it is stale.
 */
export async function failStalledJob(c: pg.ClientBase, jobId: string, rowError: string, message: string): Promise<JobRow | null> {
  await c.query(ERROR_ROWS, [jobId, rowError]);
  // The unscored rows in the job's error summary, with the first five of them.
  await c.query(
    `INSERT INTO job_errors (job_id, code, message, count, first_rows)
     SELECT $1, 'job_stalled', $2, sum(c.row_count),
            ARRAY(SELECT r FROM job_chunks p, generate_series(p.first_row, p.first_row + least(p.row_count, 5) - 1) r
                   WHERE p.job_id = $1 AND p.status = 'pending' ORDER BY r LIMIT 5)
       FROM job_chunks c WHERE c.job_id = $1 AND c.status = 'pending' HAVING count(*) > 0
     ON CONFLICT (job_id, code, message) DO UPDATE SET count = job_errors.count + excluded.count`,
    [jobId, rowError],
  );
  const { rows } = await c.query<{ n: string | null }>(
    `WITH d AS (UPDATE job_chunks SET status = 'done', payload = NULL, done_at = now() WHERE job_id = $1 AND status = 'pending' RETURNING row_count)
     SELECT sum(row_count) AS n FROM d`,
    [jobId],
  );
  await c.query(
    `UPDATE jobs SET status = 'failed', error_code = 'job_stalled', error_message = $2, finished_at = now(), progressed_at = now(),
            chunks_done = chunks_total, rows_failed = rows_failed + $3 WHERE id = $1`,
    [jobId, message, Number(rows[0]?.n ?? 0)],
  );
  return getJobRow(c, jobId);
}
