import type pg from 'pg';
import { UNFINISHED_SQL } from './jobRow.js';

/** Unfinished jobs that have not progressed for `timeoutMs`: the watchdog's candidates. */
export async function staleJobs(pool: pg.Pool, timeoutMs: number, limit: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM jobs WHERE status IN ${UNFINISHED_SQL}
        AND progressed_at < now() - make_interval(secs => $1::double precision / 1000)
      ORDER BY progressed_at LIMIT $2`,
    [timeoutMs, limit],
  );
  return rows.map((r) => r.id);
}
