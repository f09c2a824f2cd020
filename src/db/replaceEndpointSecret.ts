import type pg from 'pg';
import { ENDPOINT_COLUMNS, type EndpointRow } from './endpointRow.js';

// Rotates an endpoint's signing secret to the one the caller made: the old secret keeps signing,
// beside the new one, for `overlapSeconds`. Scoped to the tenant; null when it has no such endpoint.
export async function replaceEndpointSecret(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  id: string,
  secret: string,
  overlapSeconds: number,
): Promise<EndpointRow | null> {
  const { rows } = await db.query<EndpointRow>(
    `UPDATE webhook_endpoints SET previous_secret = secret, secret = $3,
            previous_secret_expires_at = now() + make_interval(secs => $4), updated_at = now()
      WHERE tenant_id = $1 AND id = $2 RETURNING ${ENDPOINT_COLUMNS}`,
    [tenantId, id, secret, overlapSeconds],
  );
  return rows[0] ?? null;
}
