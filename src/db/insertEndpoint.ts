import type pg from 'pg';
import { ENDPOINT_COLUMNS, type EndpointRow } from './endpointRow.js';

// Registers a tenant's webhook endpoint with the signing secret the caller made.
export async function insertEndpoint(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  e: { url: string; events: string[]; description?: string },
  secret: string,
): Promise<EndpointRow> {
  const { rows } = await db.query<EndpointRow>(
    `INSERT INTO webhook_endpoints (tenant_id, url, events, description, secret) VALUES ($1, $2, $3, $4, $5) RETURNING ${ENDPOINT_COLUMNS}`,
    [tenantId, e.url, e.events, e.description ?? null, secret],
  );
  return rows[0];
}
