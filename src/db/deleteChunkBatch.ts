import type pg from 'pg';

// Retention: each statement is its own short transaction touching a bounded number of rows, so
// deleting a job of millions of rows never holds a long lock, and a crash resumes at the next pass.

/** Deletes up to `batch` chunk rows of the job. */
export async function deleteChunkBatch(pool: pg.Pool, jobId: string, batch: number): Promise<number> {
  const r = await pool.query(
    `DELETE FROM job_chunks WHERE job_id = $1 AND seq IN (SELECT seq FROM job_chunks WHERE job_id = $1 ORDER BY seq LIMIT $2)`,
    [jobId, batch],
  );
  return r.rowCount ?? 0;
}
