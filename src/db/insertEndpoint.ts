import type pg from 'pg';
import { ENDPOINT_COLUMNS, type EndpointRow } from './endpointRow.js';
import type { SealedSecret } from './storedSecrets.js';

// Registers a tenant's webhook endpoint with the signing secret the caller made and sealed.
export async function insertEndpoint(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  e: { url: string; events: string[]; description?: string },
  secret: SealedSecret,
): Promise<EndpointRow> {
  const { rows } = await db.query<EndpointRow>(
    `INSERT INTO webhook_endpoints (tenant_id, url, events, description, secret_enc, secret_fingerprint)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${ENDPOINT_COLUMNS}`,
    [tenantId, e.url, e.events, e.description ?? null, secret.enc, secret.fingerprint],
  );
  return rows[0];
}
