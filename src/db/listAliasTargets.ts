import type pg from 'pg';
import { ALIAS_TARGET_SQL, type TargetRow } from './aliasTargetSql.js';

/** Every alias of the tenant's model with its current target, by alias name. Empty: no aliases (or no such model). */
export async function listAliasTargets(db: pg.Pool | pg.ClientBase, tenantId: string, name: string): Promise<TargetRow[]> {
  const { rows } = await db.query<TargetRow>(
    `SELECT a.alias, ${ALIAS_TARGET_SQL} AS versions, a.updated_at
       FROM models m JOIN model_aliases a ON a.model_id = m.id JOIN model_versions mv ON mv.id = a.version_id
      WHERE m.tenant_id = $1 AND m.name = $2 ORDER BY a.alias`,
    [tenantId, name],
  );
  return rows;
}
