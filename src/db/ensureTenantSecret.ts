import type pg from 'pg';
import type { SealedSecret } from './storedSecrets.js';

// The tenant's default secret (it signs callback_url deliveries) is created on first use: with the
// sealed secret the caller made, unless the tenant already has one, which is then kept. True when
// this call created it (the one time its maker may show it).
export async function ensureTenantSecret(db: pg.Pool | pg.ClientBase, tenantId: string, secret: SealedSecret): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO webhook_tenant_secrets (tenant_id, secret_enc, secret_fingerprint) VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO NOTHING`,
    [tenantId, secret.enc, secret.fingerprint],
  );
  return (r.rowCount ?? 0) > 0;
}
