import type pg from 'pg';
import { KEY_COLUMNS, type KeyView } from './apiKeyRow.js';

/**
 * A tenant's keys, oldest first: prefix, scopes and last use only (the key itself is not stored).
 * All of them (the operator's CLI), or a page (`limit` rows; the caller asks one more than it shows)
 * by keyset on (created_at, id) after the key `afterId`. The keyset is read from the row itself, so
 * created_at keeps its microseconds; an `afterId` that is not a key of this tenant gives no rows.
 */
export async function listKeys<S extends string = string>(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  page?: { limit: number; afterId?: string | null },
): Promise<KeyView<S>[]> {
  if (!page) {
    const { rows } = await db.query<KeyView<S>>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);
    return rows;
  }
  const { rows } = await db.query<KeyView<S>>(
    `SELECT ${KEY_COLUMNS} FROM api_keys
      WHERE tenant_id = $1 AND ($3::uuid IS NULL OR (created_at, id) > (SELECT created_at, id FROM api_keys WHERE id = $3 AND tenant_id = $1))
      ORDER BY created_at, id LIMIT $2`,
    [tenantId, page.limit, page.afterId ?? null],
  );
  return rows;
}
