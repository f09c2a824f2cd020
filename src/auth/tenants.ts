import type pg from 'pg';
import { recordAudit, type AuditEntry } from '../audit/log.js';
import type { KeyView as KeyRow } from '../db/apiKeyRow.js';
import { ensureTenant } from '../db/ensureTenant.js';
import { insertApiKey } from '../db/insertApiKey.js';
import { lockTenantKeyCount } from '../db/lockTenantKeyCount.js';
import { withTransaction } from '../db/pool.js';
import { revokeApiKey } from '../db/revokeApiKey.js';
import { HttpError } from '../errors.js';
import { generateKey, SCOPES, type Scope } from './keys.js';

/** Who performs a key action, for the audit log. */
export type Actor = Pick<AuditEntry, 'actorType' | 'actor' | 'ip' | 'requestId'>;

/** A key as listings show it (src/db/apiKeyRow.ts), with its scopes typed. */
export type KeyView = KeyRow<Scope>;

/**
 * Creates a key for a tenant and returns it: the only time the key is ever seen. Only its sha256
 * digest and a short prefix (for listings) are stored. The audit row commits with the key.
 * With `maxKeys` (MAX_KEYS_PER_TENANT), a tenant that already has that many unrevoked keys gets
 * 409 key_limit_reached instead; the count is taken under a lock, so racing creations cannot pass it.
 */
export async function createTenantKey(
  pool: pg.Pool,
  tenantId: string,
  scopes: readonly Scope[],
  opts: { name?: string | null; actor: Actor; maxKeys?: number },
): Promise<{ key: string; view: KeyView }> {
  const { key, prefix, digest } = generateKey();
  const view = await withTransaction(pool, async (c) => {
    if (opts.maxKeys !== undefined) {
      const active = await lockTenantKeyCount(c, tenantId);
      if (active >= opts.maxKeys) {
        throw new HttpError(
          'key_limit_reached',
          `The tenant already has ${active} API keys that are not revoked; at most ${opts.maxKeys} are allowed (MAX_KEYS_PER_TENANT). Revoke keys no longer used first.`,
          { active_keys: active, max_keys: opts.maxKeys },
        );
      }
    }
    const row = await insertApiKey(c, { tenantId, prefix, digest, scopes: [...new Set(scopes)], name: opts.name ?? null });
    await recordAudit(c, { ...opts.actor, tenantId, action: 'key.created', target: row.id, details: { prefix, scopes: row.scopes, name: opts.name ?? null } });
    return row;
  });
  return { key, view };
}

/**
 * Creates a key for the tenant (created when new) and returns it: the only time it is ever shown.
 * Every scope unless given (tests and the demo); the operator's CLI always passes its scopes.
 */
export async function createKey(
  db: pg.Pool,
  tenantName: string,
  scopes: readonly Scope[] = SCOPES,
  opts: { name?: string | null; actor?: Actor; maxKeys?: number } = {},
): Promise<{ key: string; id: string; tenantId: string }> {
  const tenantId = await ensureTenant(db, tenantName);
  const { key, view } = await createTenantKey(db, tenantId, scopes, { name: opts.name, actor: opts.actor ?? { actorType: 'system', actor: 'createKey' }, maxKeys: opts.maxKeys });
  return { key, id: view.id, tenantId };
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
    const r = await revokeApiKey<Scope>(c, keyId, opts.tenantId);
    if (!r) return null;
    if (!r.was_revoked) await recordAudit(c, { ...opts.actor, tenantId: r.tenant_id, action: 'key.revoked', target: r.id, details: { prefix: r.prefix } });
    const { tenant_id: _t, was_revoked: _w, ...view } = r;
    return view;
  });
}
