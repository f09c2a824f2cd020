import type pg from 'pg';
import { ALIAS_CHANGE_COLUMNS, type AliasChangeRow, type StoredTarget } from './aliasChangeRow.js';

/**
 * Records an alias change in the transaction that makes it (setModelAlias). Who: the API key, and
 * its prefix as it is now (kept, so the entry still says who after the key is deleted).
 */
export async function insertAliasChange(
  db: pg.ClientBase,
  c: { modelId: number; alias: string; action: AliasChangeRow['action']; from: StoredTarget | null; to: StoredTarget; guard: Record<string, unknown> | null; keyId: string | null },
): Promise<AliasChangeRow> {
  const { rows } = await db.query<AliasChangeRow>(
    `WITH c AS (
       INSERT INTO model_alias_changes (model_id, alias, action, from_target, to_target, guard, key_id, key_prefix)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7::uuid, (SELECT prefix FROM api_keys WHERE id = $7::uuid))
       RETURNING *)
     SELECT ${ALIAS_CHANGE_COLUMNS} FROM c`,
    [c.modelId, c.alias, c.action, c.from && JSON.stringify(c.from), JSON.stringify(c.to), c.guard && JSON.stringify(c.guard), c.keyId],
  );
  return rows[0];
}
