import type pg from 'pg';
import { ALIAS_CHANGE_COLUMNS, type AliasChangeRow } from './aliasChangeRow.js';

/**
 * A page of an alias's history, newest first: `limit` changes older than the change `before`
 * (keyset on the id; the caller asks one more than it shows). Tenant-scoped.
 */
export async function listAliasChanges(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  name: string,
  alias: string,
  page: { limit: number; before?: number | null },
): Promise<AliasChangeRow[]> {
  const { rows } = await db.query<AliasChangeRow>(
    `SELECT ${ALIAS_CHANGE_COLUMNS} FROM models m JOIN model_alias_changes c ON c.model_id = m.id
      WHERE m.tenant_id = $1 AND m.name = $2 AND c.alias = $3 AND ($5::bigint IS NULL OR c.id < $5::bigint)
      ORDER BY c.id DESC LIMIT $4`,
    [tenantId, name, alias, page.limit, page.before ?? null],
  );
  return rows;
}
