import type pg from 'pg';
import type { SealedSecret } from './storedSecrets.js';
import { TENANT_SECRET_COLUMNS, type TenantSecret } from './selectTenantSecret.js';

// Rotates the tenant's default secret to the sealed one the caller made (creating it if the tenant
// had none): the old secret keeps signing, beside the new one, for `overlapSeconds`. Both slots move
// together (plaintext and ciphertext), as in replaceEndpointSecret.
export async function replaceTenantSecret(db: pg.Pool | pg.ClientBase, tenantId: string, secret: SealedSecret, overlapSeconds: number): Promise<TenantSecret> {
  const { rows } = await db.query<TenantSecret>(
    `INSERT INTO webhook_tenant_secrets AS s (tenant_id, secret_enc, secret_fingerprint) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id) DO UPDATE SET previous_secret = s.secret, previous_secret_enc = s.secret_enc,
        secret = NULL, secret_enc = EXCLUDED.secret_enc, secret_fingerprint = EXCLUDED.secret_fingerprint,
        previous_secret_expires_at = now() + make_interval(secs => $4), rotated_at = now()
     RETURNING ${TENANT_SECRET_COLUMNS}`,
    [tenantId, secret.enc, secret.fingerprint, overlapSeconds],
  );
  return rows[0];
}
