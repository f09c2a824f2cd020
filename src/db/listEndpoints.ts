import type pg from 'pg';
import { ENDPOINT_COLUMNS, type EndpointRow } from './endpointRow.js';

// The tenant's webhook endpoints, oldest first (GET /v1/webhooks).
export async function listEndpoints(db: pg.Pool | pg.ClientBase, tenantId: string): Promise<EndpointRow[]> {
  const { rows } = await db.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);
  return rows;
}
