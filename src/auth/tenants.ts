import type pg from 'pg';
import { generateKey, SCOPES, type Scope } from './keys.js';

export async function ensureTenant(db: pg.Pool | pg.ClientBase, name: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO tenants (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
    [name],
  );
  return rows[0].id;
}

/** Creates a key for the tenant (created when new) and returns it: the only time it is ever shown. */
export async function createKey(db: pg.Pool, tenantName: string, scopes: readonly Scope[] = SCOPES): Promise<{ key: string; id: string; tenantId: string }> {
  const tenantId = await ensureTenant(db, tenantName);
  const { key, prefix, digest } = generateKey();
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO api_keys (tenant_id, prefix, digest, scopes) VALUES ($1, $2, $3, $4) RETURNING id`,
    [tenantId, prefix, digest, scopes],
  );
  return { key, id: rows[0].id, tenantId };
}
