import type pg from 'pg';

/**
 * Counts an attempt at a chunk in Postgres, where it survives worker crashes and Redis loss, so
 * a chunk that kills its worker every time (OOM, native crash) is given up on after a bound.
 */
export async function countAttempt(pool: pg.Pool, jobId: string, seq: number): Promise<number> {
  const { rows } = await pool.query<{ attempts: number }>(
    `UPDATE job_chunks SET attempts = attempts + 1 WHERE job_id = $1 AND seq = $2 AND status = 'pending' RETURNING attempts`,
    [jobId, seq],
  );
  return rows[0]?.attempts ?? 0;
}
