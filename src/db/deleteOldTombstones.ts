import type pg from 'pg';

// Retention: each statement is its own short transaction touching a bounded number of rows, so
// deleting a job of millions of rows never holds a long lock, and a crash resumes at the next pass.

/** Tombstones are kept for one more TTL, then go too (in batches). */
export async function deleteOldTombstones(pool: pg.Pool, ttlHours: number, batch: number): Promise<number> {
  const r = await pool.query(
    `DELETE FROM expired_jobs WHERE id IN (
       SELECT id FROM expired_jobs WHERE expired_at < now() - make_interval(secs => $1::double precision * 3600) ORDER BY expired_at LIMIT $2)`,
    [ttlHours, batch],
  );
  return r.rowCount ?? 0;
}
