import type pg from 'pg';
import { ALIAS_CHANGE_COLUMNS, type AliasChangeRow } from './aliasChangeRow.js';

/** The alias's latest recorded change, or null when none was recorded (what a rollback undoes). */
export async function selectLatestAliasChange(db: pg.ClientBase, modelId: number, alias: string): Promise<AliasChangeRow | null> {
  const { rows } = await db.query<AliasChangeRow>(
    `SELECT ${ALIAS_CHANGE_COLUMNS} FROM model_alias_changes c WHERE c.model_id = $1 AND c.alias = $2 ORDER BY c.id DESC LIMIT 1`,
    [modelId, alias],
  );
  return rows[0] ?? null;
}
