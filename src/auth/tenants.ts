import type pg from 'pg';
import { recordAudit, type AuditEntry } from '../audit/log.js';
import { withTransaction } from '../db/pool.js';
import { generateKey, SCOPES, type Scope } from './keys.js';

export async function ensureTenant(db: pg.Pool | pg.ClientBase, name: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO tenants (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
    [name],
  );
  return rows[0].id;
}

/** Who performs a key action, for the audit log. */
export type Actor = Pick<AuditEntry, 'actorType' | 'actor' | 'ip' | 'requestId'>;

export interface KeyView {
  id: string;
  name: string | null;
  prefix: string;
  scopes: Scope[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}
const KEY_COLUMNS = 'id, name, prefix, scopes, created_at, last_used_at, revoked_at';

/**
 * Creates a key for a tenant and returns it: the only time the key is ever seen. Only its sha256
 * digest and a short prefix (for listings) are stored. The audit row commits with the key.
 */
export async function createTenantKey(
  pool: pg.Pool,
  tenantId: string,
  scopes: readonly Scope[],
  opts: { name?: string | null; actor: Actor },
): Promise<{ key: string; view: KeyView }> {
  const { key, prefix, digest } = generateKey();
  const view = await withTransaction(pool, async (c) => {
    const { rows } = await c.query<KeyView>(
      `INSERT INTO api_keys (tenant_id, prefix, digest, scopes, name) VALUES ($1, $2, $3, $4, $5) RETURNING ${KEY_COLUMNS}`,
      [tenantId, prefix, digest, [...new Set(scopes)], opts.name ?? null],
    );
    await recordAudit(c, { ...opts.actor, tenantId, action: 'key.created', target: rows[0].id, details: { prefix, scopes: rows[0].scopes, name: opts.name ?? null } });
    return rows[0];
  });
  return { key, view };
}

/** Creates a key for the tenant (created when new) and returns it: the only time it is ever shown. */
export async function createKey(
  db: pg.Pool,
  tenantName: string,
  scopes: readonly Scope[] = SCOPES,
  opts: { name?: string | null; actor?: Actor } = {},
): Promise<{ key: string; id: string; tenantId: string }> {
  const tenantId = await ensureTenant(db, tenantName);
  const { key, view } = await createTenantKey(db, tenantId, scopes, { name: opts.name, actor: opts.actor ?? { actorType: 'system', actor: 'createKey' } });
  return { key, id: view.id, tenantId };
}

/** Prefix, scopes and last use only: the key itself cannot be listed because it is not stored. */
export async function listKeys(db: pg.Pool, tenantId: string): Promise<KeyView[]> {
  const { rows } = await db.query<KeyView>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);
  return rows;
}

/**
 * Revokes a key of the tenant (any tenant when tenantId is null: the operator's CLI). The commit
 * fires a NOTIFY (migrations/0006_lookup_notify.sql) on which every api process drops the key from
 * its cache, so it stops working within milliseconds everywhere; the api's revoke route also drops
 * it from its own process's cache before answering (Lookups.forgetKey).
 * Returns null when there is no such key (for this tenant); revoking twice keeps the first time.
 */
export async function revokeKey(pool: pg.Pool, keyId: string, opts: { tenantId: string | null; actor: Actor }): Promise<KeyView | null> {
  return withTransaction(pool, async (c) => {
    const { rows } = await c.query<KeyView & { tenant_id: string; was_revoked: boolean }>(
      `WITH k AS (SELECT id, revoked_at IS NOT NULL AS was_revoked FROM api_keys WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2) FOR UPDATE)
       UPDATE api_keys a SET revoked_at = coalesce(a.revoked_at, now()) FROM k WHERE a.id = k.id
       RETURNING a.tenant_id, k.was_revoked, ${KEY_COLUMNS.split(', ').map((c) => 'a.' + c).join(', ')}`,
      [keyId, opts.tenantId],
    );
    const r = rows[0];
    if (!r) return null;
    if (!r.was_revoked) await recordAudit(c, { ...opts.actor, tenantId: r.tenant_id, action: 'key.revoked', target: r.id, details: { prefix: r.prefix } });
    const { tenant_id: _t, was_revoked: _w, ...view } = r;
    return view;
  });
}
