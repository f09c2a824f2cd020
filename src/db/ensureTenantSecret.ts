import type pg from 'pg';

// The tenant's default secret (it signs callback_url deliveries) is created on first use: with the
// secret the caller made, unless the tenant already has one, which is then kept.
export async function ensureTenantSecret(db: pg.Pool | pg.ClientBase, tenantId: string, secret: string): Promise<void> {
  await db.query(`INSERT INTO webhook_tenant_secrets (tenant_id, secret) VALUES ($1, $2) ON CONFLICT (tenant_id) DO NOTHING`, [tenantId, secret]);
}
