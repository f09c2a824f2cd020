import type pg from 'pg';
import { UNFINISHED_SQL } from './jobRow.js';

/**
 * Rows a tenant has accepted but not yet scored, from Postgres (the source of truth): the sum over
 * its unfinished jobs of rows not yet succeeded or failed. Includes jobs still being uploaded.
 * The per-tenant cap (src/http/quotas.ts) reads it, through the api's cache (src/http/lookups.ts).
 */
export async function queuedRows(db: pg.Pool | pg.ClientBase, tenantId: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT coalesce(sum(rows_total - rows_succeeded - rows_failed), 0)::text AS n
       FROM jobs WHERE tenant_id = $1 AND status IN ${UNFINISHED_SQL}`,
    [tenantId],
  );
  return Number(rows[0].n);
}
