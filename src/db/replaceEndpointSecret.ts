import type pg from 'pg';
import { ENDPOINT_COLUMNS, type EndpointRow } from './endpointRow.js';
import type { SealedSecret } from './storedSecrets.js';

// Rotates an endpoint's signing secret to the one the caller made: the old secret keeps signing,
// beside the new one, for `overlapSeconds`. Both slots move together (plaintext and ciphertext), so
// a current secret still in clear becomes a previous one still in clear, never a stale mix. Scoped to the tenant; null when it has no such endpoint.
export async function replaceEndpointSecret(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  id: string,
  secret: SealedSecret,
  overlapSeconds: number,
): Promise<EndpointRow | null> {
  const { rows } = await db.query<EndpointRow>(
    `UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_enc = secret_enc,
            secret = NULL, secret_enc = $3, secret_fingerprint = $4,
            previous_secret_expires_at = now() + make_interval(secs => $5), updated_at = now()
      WHERE tenant_id = $1 AND id = $2 RETURNING ${ENDPOINT_COLUMNS}`,
    [tenantId, id, secret.enc, secret.fingerprint, overlapSeconds],
  );
  return rows[0] ?? null;
}
