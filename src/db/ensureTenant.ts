import type pg from 'pg';

/** The tenant's id, creating the tenant when it is new (the no-op update makes RETURNING see an existing row). */
export async function ensureTenant(db: pg.Pool | pg.ClientBase, name: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO tenants (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
    [name],
  );
  return rows[0].id;
}
