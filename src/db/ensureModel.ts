import type pg from 'pg';

/**
 * The id of the tenant's model `name`, creating it when new. Run in the registering transaction:
 * the upsert locks the model row until commit, so two concurrent registrations get versions N and
 * N+1 (insertModelVersion).
 */
export async function ensureModel(db: pg.ClientBase, tenantId: string, name: string): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO models (tenant_id, name) VALUES ($1, $2) ON CONFLICT (tenant_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
    [tenantId, name],
  );
  return rows[0].id;
}
