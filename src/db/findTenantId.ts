import type pg from 'pg';

/** The id of the tenant with this name, or null (the operator's CLI names tenants, the api never does). */
export async function findTenantId(db: pg.Pool | pg.ClientBase, name: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM tenants WHERE name = $1`, [name]);
  return rows[0]?.id ?? null;
}
