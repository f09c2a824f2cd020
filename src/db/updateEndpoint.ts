import type pg from 'pg';
import { ENDPOINT_COLUMNS, type EndpointRow } from './endpointRow.js';

// PATCH /v1/webhooks/{id}: changes only what is given. Re-enabling clears a disablement (a 410's
// included); disabling keeps the first reason. Scoped to the tenant; null when it has no such endpoint.
export async function updateEndpoint(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  id: string,
  p: { url?: string; events?: string[]; description?: string | null; disabled?: boolean },
): Promise<EndpointRow | null> {
  const { rows } = await db.query<EndpointRow>(
    `UPDATE webhook_endpoints SET
        url = coalesce($3, url),
        events = coalesce($4, events),
        description = CASE WHEN $5::boolean THEN $6 ELSE description END,
        disabled_at = CASE WHEN $7::boolean IS NULL THEN disabled_at WHEN $7 THEN coalesce(disabled_at, now()) ELSE NULL END,
        disabled_reason = CASE WHEN $7::boolean IS NULL THEN disabled_reason WHEN $7 THEN coalesce(disabled_reason, 'disabled by the tenant') ELSE NULL END,
        updated_at = now()
      WHERE tenant_id = $1 AND id = $2 RETURNING ${ENDPOINT_COLUMNS}`,
    [tenantId, id, p.url ?? null, p.events ?? null, p.description !== undefined, p.description ?? null, p.disabled ?? null],
  );
  return rows[0] ?? null;
}
