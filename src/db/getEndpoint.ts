import type pg from 'pg';
import { ENDPOINT_COLUMNS, type EndpointRow } from './endpointRow.js';

// One endpoint, scoped to the tenant: an endpoint of another tenant is indistinguishable from a missing one.
export async function getEndpoint(db: pg.Pool | pg.ClientBase, tenantId: string, id: string): Promise<EndpointRow | null> {
  const { rows } = await db.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0] ?? null;
}
