import type pg from 'pg';
import type { StoredSecrets } from './storedSecrets.js';

// The stored secrets that sign a tenant's callback_url deliveries, for the delivery worker only
// (it decrypts them right before signing). Null when the tenant has no default secret yet.
export async function selectTenantSigningSecrets(db: pg.Pool | pg.ClientBase, tenantId: string): Promise<StoredSecrets | null> {
  const { rows } = await db.query<StoredSecrets>(
    `SELECT secret, secret_enc, previous_secret, previous_secret_enc, previous_secret_expires_at FROM webhook_tenant_secrets WHERE tenant_id = $1`,
    [tenantId],
  );
  return rows[0] ?? null;
}
