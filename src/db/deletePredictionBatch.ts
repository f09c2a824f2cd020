import type pg from 'pg';

// Retention: each statement is its own short transaction touching a bounded number of rows, so
// deleting a job of millions of rows never holds a long lock, and a crash resumes at the next pass.

/**
 * Deletes the job's stored results, chunk by chunk, up to about `batch` result rows (at least one
 * chunk; each chunk holds a row at least, so its first `batch` chunks are all it looks at);
 * returns how many result rows went.
 */
export async function deletePredictionBatch(pool: pg.Pool, jobId: string, batch: number): Promise<number> {
  const r = await pool.query<{ n: number }>(
    `WITH gone AS (
       DELETE FROM prediction_chunks WHERE job_id = $1 AND first_row IN (
         SELECT first_row FROM (SELECT first_row, sum(row_count) OVER (ORDER BY first_row) - row_count AS before
                                  FROM (SELECT first_row, row_count FROM prediction_chunks WHERE job_id = $1 ORDER BY first_row LIMIT $2) f) c
          WHERE before < $2)
       RETURNING row_count)
     SELECT coalesce(sum(row_count), 0)::int AS n FROM gone`,
    [jobId, batch],
  );
  return r.rows[0].n;
}
