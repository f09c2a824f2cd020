import type pg from 'pg';

// The tenant's default secret as GET /v1/webhooks/default-secret shows it (after ensureTenantSecret):
// what it is known by, never the secret itself.

export interface TenantSecret {
  /** secretFingerprint of the current secret (null only for a previous release's row not yet re-encrypted). */
  secret_fingerprint: string | null;
  previous_secret_expires_at: Date | null;
  created_at: Date;
  rotated_at: Date | null;
}

export const TENANT_SECRET_COLUMNS = `secret_fingerprint, previous_secret_expires_at, created_at, rotated_at`;

export async function selectTenantSecret(db: pg.Pool | pg.ClientBase, tenantId: string): Promise<TenantSecret> {
  const { rows } = await db.query<TenantSecret>(`SELECT ${TENANT_SECRET_COLUMNS} FROM webhook_tenant_secrets WHERE tenant_id = $1`, [tenantId]);
  return rows[0];
}
