import type pg from 'pg';
import { FINAL_SQL } from './jobRow.js';

// Retention: each statement is its own short transaction touching a bounded number of rows, so
// deleting a job of millions of rows never holds a long lock, and a crash resumes at the next pass.

/** Finished jobs past the TTL, oldest first. */
export async function expiredJobs(pool: pg.Pool, ttlHours: number, limit: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM jobs WHERE status IN ${FINAL_SQL}
        AND finished_at < now() - make_interval(secs => $1::double precision * 3600)
      ORDER BY finished_at LIMIT $2`,
    [ttlHours, limit],
  );
  return rows.map((r) => r.id);
}
