import type pg from 'pg';

/**
 * Deletes a key's sessions idle since `idleBefore` and all but its `keep` newest, so one key (a
 * script signing in in a loop) cannot pile up rows.
 */
export async function trimKeySessions(db: pg.Pool | pg.ClientBase, keyId: string, idleBefore: Date, keep: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM dashboard_sessions
      WHERE key_id = $1
        AND (last_seen_at <= $2
             OR id NOT IN (SELECT id FROM dashboard_sessions WHERE key_id = $1 ORDER BY created_at DESC, id LIMIT $3))`,
    [keyId, idleBefore, keep],
  );
  return rowCount ?? 0;
}
