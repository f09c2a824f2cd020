import type pg from 'pg';

/**
 * The tenant's unrevoked keys, counted under a lock on the tenant's row that lasts until the
 * caller's transaction ends: two key creations at once for one tenant count one after the other,
 * so MAX_KEYS_PER_TENANT cannot be passed by racing. Two statements on purpose: under READ
 * COMMITTED a statement that waited for the lock still reads with the snapshot it started with,
 * so the count must be a new statement, taken after the lock is held, to see the keys the other
 * transaction committed. FOR NO KEY UPDATE does not block the foreign-key checks of rows being
 * inserted for the tenant (jobs, models) meanwhile. Run it in the transaction that inserts the key.
 */
export async function lockTenantKeyCount(db: pg.ClientBase, tenantId: string): Promise<number> {
  await db.query(`SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE`, [tenantId]);
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL`, [tenantId]);
  return rows[0].n;
}
