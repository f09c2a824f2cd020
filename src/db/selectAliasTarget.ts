import type pg from 'pg';
import { ALIAS_TARGET_SQL, type TargetRow } from './aliasTargetSql.js';

/** The alias's current target (null when the model has no such alias). Call it under lockModelForAliasChange to act on it. */
export async function selectAliasTarget(db: pg.ClientBase | pg.Pool, modelId: number, alias: string): Promise<TargetRow | null> {
  const { rows } = await db.query<TargetRow>(
    `SELECT a.alias, ${ALIAS_TARGET_SQL} AS versions, a.updated_at
       FROM model_aliases a JOIN model_versions mv ON mv.id = a.version_id WHERE a.model_id = $1 AND a.alias = $2`,
    [modelId, alias],
  );
  return rows[0] ?? null;
}
