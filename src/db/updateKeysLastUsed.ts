import type pg from 'pg';

/**
 * Writes the last use of many keys in ONE statement (src/auth/lastUsed.ts batches them). Times only
 * move forward (GREATEST), so two api processes flushing out of order cannot move a key's last use back.
 */
export async function updateKeysLastUsed(db: pg.Pool | pg.ClientBase, keyIds: string[], at: Date[]): Promise<void> {
  await db.query(
    `UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, u.at)
       FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at) WHERE k.id = u.id`,
    [keyIds, at],
  );
}
