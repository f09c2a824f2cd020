import type pg from 'pg';
import { ALIAS_CHANGE_COLUMNS, type AliasChangeRow } from './aliasChangeRow.js';

/** The latest `perAlias` changes of each alias of the tenant's model (the model card), newest first within an alias. */
export async function listRecentAliasChanges(db: pg.Pool | pg.ClientBase, tenantId: string, name: string, perAlias: number): Promise<AliasChangeRow[]> {
  const { rows } = await db.query<AliasChangeRow>(
    `SELECT ${ALIAS_CHANGE_COLUMNS} FROM models m JOIN model_aliases a ON a.model_id = m.id
       CROSS JOIN LATERAL (SELECT * FROM model_alias_changes x WHERE x.model_id = m.id AND x.alias = a.alias ORDER BY x.id DESC LIMIT $3) c
      WHERE m.tenant_id = $1 AND m.name = $2
      ORDER BY c.alias, c.id DESC`,
    [tenantId, name, perAlias],
  );
  return rows;
}
