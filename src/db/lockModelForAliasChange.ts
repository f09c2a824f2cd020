import type pg from 'pg';

/**
 * Locks the tenant's model row until commit, so changes to its aliases happen one at a time and
 * each reads the target the previous one left: none is lost from the history, even when the alias
 * does not exist yet (there is no alias row to lock then). NO KEY UPDATE is enough for that and
 * leaves foreign-key checks on the model (KEY SHARE) alone; a registration, whose upsert of the
 * model row locks it too (ensureModel), waits for the change's commit, as changes wait for it.
 * Null when the tenant has no such model.
 */
export async function lockModelForAliasChange(db: pg.ClientBase, tenantId: string, name: string): Promise<number | null> {
  const { rows } = await db.query<{ id: number }>(`SELECT id FROM models WHERE tenant_id = $1 AND name = $2 FOR NO KEY UPDATE`, [tenantId, name]);
  return rows[0]?.id ?? null;
}
