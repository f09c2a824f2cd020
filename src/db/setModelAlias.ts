import type pg from 'pg';

/**
 * Points the alias of the tenant's model at one of its versions (created or moved). The commit
 * fires the NOTIFY of migrations/0006_lookup_notify.sql, so cached references drop it. Jobs keep
 * the version they pinned. False when the tenant has no such model or version.
 */
export async function setModelAlias(db: pg.Pool | pg.ClientBase, tenantId: string, name: string, alias: string, version: number): Promise<boolean> {
  const { rows } = await db.query<{ version: number }>(
    `INSERT INTO model_aliases (model_id, alias, version_id)
     SELECT m.id, $3, mv.id FROM models m JOIN model_versions mv ON mv.model_id = m.id
      WHERE m.tenant_id = $1 AND m.name = $2 AND mv.version = $4
     ON CONFLICT (model_id, alias) DO UPDATE SET version_id = EXCLUDED.version_id, updated_at = now()
     RETURNING $4::int AS version`,
    [tenantId, name, alias, version],
  );
  return rows.length > 0;
}
