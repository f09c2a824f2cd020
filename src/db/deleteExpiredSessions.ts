import type pg from 'pg';

/**
 * Deletes at most `limit` sessions past their absolute expiry (by the expires_at index). Sign-ins
 * call it, so each one clears more dead rows than it adds and the table cannot grow without bound.
 */
export async function deleteExpiredSessions(db: pg.Pool | pg.ClientBase, now: Date, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM dashboard_sessions WHERE id IN (SELECT id FROM dashboard_sessions WHERE expires_at <= $1 LIMIT $2)`,
    [now, limit],
  );
  return rowCount ?? 0;
}
