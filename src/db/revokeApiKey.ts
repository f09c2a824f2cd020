import type pg from 'pg';
import { KEY_COLUMNS, type KeyView } from './apiKeyRow.js';

/**
 * Sets revoked_at on a key of the tenant (any tenant when tenantId is null: the operator's CLI),
 * keeping the first time when it was revoked already (`was_revoked` says so). The row is locked
 * first, so two revocations at once agree on which was first. Its commit fires the NOTIFY of
 * migrations/0006_lookup_notify.sql. Null when there is no such key (for this tenant).
 */
export async function revokeApiKey<S extends string = string>(
  db: pg.ClientBase,
  keyId: string,
  tenantId: string | null,
): Promise<(KeyView<S> & { tenant_id: string; was_revoked: boolean }) | null> {
  const { rows } = await db.query<KeyView<S> & { tenant_id: string; was_revoked: boolean }>(
    `WITH k AS (SELECT id, revoked_at IS NOT NULL AS was_revoked FROM api_keys WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2) FOR UPDATE)
     UPDATE api_keys a SET revoked_at = coalesce(a.revoked_at, now()) FROM k WHERE a.id = k.id
     RETURNING a.tenant_id, k.was_revoked, ${KEY_COLUMNS.split(', ').map((c) => 'a.' + c).join(', ')}`,
    [keyId, tenantId],
  );
  return rows[0] ?? null;
}
