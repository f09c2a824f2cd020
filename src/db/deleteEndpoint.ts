import type pg from 'pg';

// Removes a tenant's endpoint; its delivery history stays. False when the tenant has no such endpoint.
export async function deleteEndpoint(db: pg.Pool | pg.ClientBase, tenantId: string, id: string): Promise<boolean> {
  const r = await db.query(`DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return (r.rowCount ?? 0) > 0;
}
