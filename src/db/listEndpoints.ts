import type pg from 'pg';
import { ENDPOINT_COLUMNS, type EndpointRow } from './endpointRow.js';

/**
 * A page of the tenant's webhook endpoints, oldest first (GET /v1/webhooks), by keyset on
 * (created_at, id) after `after`, on the (tenant_id, created_at, id) index. Each row carries its
 * created_at to the microsecond as text (`cursor_t`), for the next page's cursor: a JS Date would
 * drop the microseconds and repeat or skip rows. Asks for `limit` rows: the caller asks one more
 * than it shows to learn whether a next page exists.
 */
export async function listEndpoints(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  opts: { limit: number; after?: { t: string; id: string } | null },
): Promise<(EndpointRow & { cursor_t: string })[]> {
  const { rows } = await db.query<EndpointRow & { cursor_t: string }>(
    `SELECT ${ENDPOINT_COLUMNS}, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_t
       FROM webhook_endpoints
      WHERE tenant_id = $1 AND ($3::timestamptz IS NULL OR (created_at, id) > ($3::timestamptz, $4::uuid))
      ORDER BY created_at, id LIMIT $2`,
    [tenantId, opts.limit, opts.after?.t ?? null, opts.after?.id ?? null],
  );
  return rows;
}
