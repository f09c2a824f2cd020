import type pg from 'pg';

/** Records a session's use (its idle expiry slides); never moves last use backwards. */
export async function touchSession(db: pg.Pool | pg.ClientBase, id: string, now: Date): Promise<void> {
  await db.query(`UPDATE dashboard_sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2`, [id, now]);
}
