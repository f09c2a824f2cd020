import type pg from 'pg';

// The tenant's default secret as GET /v1/webhooks/default-secret shows it (after ensureTenantSecret).

export interface TenantSecret {
  secret: string;
  previous_secret_expires_at: Date | null;
  created_at: Date;
  rotated_at: Date | null;
}

export async function selectTenantSecret(db: pg.Pool | pg.ClientBase, tenantId: string): Promise<TenantSecret> {
  const { rows } = await db.query<TenantSecret>(
    `SELECT secret, previous_secret_expires_at, created_at, rotated_at FROM webhook_tenant_secrets WHERE tenant_id = $1`,
    [tenantId],
  );
  return rows[0];
}
