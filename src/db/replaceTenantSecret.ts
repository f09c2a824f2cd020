import type pg from 'pg';
import type { TenantSecret } from './selectTenantSecret.js';

// Rotates the tenant's default secret to the one the caller made (creating it if the tenant had
// none): the old secret keeps signing, beside the new one, for `overlapSeconds`.
export async function replaceTenantSecret(db: pg.Pool | pg.ClientBase, tenantId: string, secret: string, overlapSeconds: number): Promise<TenantSecret> {
  const { rows } = await db.query<TenantSecret>(
    `INSERT INTO webhook_tenant_secrets AS s (tenant_id, secret) VALUES ($1, $2)
     ON CONFLICT (tenant_id) DO UPDATE SET previous_secret = s.secret, secret = EXCLUDED.secret,
        previous_secret_expires_at = now() + make_interval(secs => $3), rotated_at = now()
     RETURNING secret, previous_secret_expires_at, created_at, rotated_at`,
    [tenantId, secret, overlapSeconds],
  );
  return rows[0];
}
