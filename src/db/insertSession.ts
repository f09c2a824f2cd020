import type pg from 'pg';
import type { SessionRow } from './sessionRow.js';

/**
 * Opens a session for the unrevoked key with this sha256 digest, in one statement: a key revoked
 * (or unknown) gives no row and null. The session's own token is stored only as its digest.
 */
export async function insertSession<S extends string = string>(
  db: pg.Pool | pg.ClientBase,
  s: { keyDigest: Buffer; digest: Buffer; csrfToken: string; now: Date; expiresAt: Date },
): Promise<SessionRow<S> | null> {
  const { rows } = await db.query<SessionRow<S>>(
    `WITH k AS (
       SELECT a.id, a.tenant_id, a.scopes, a.prefix, t.name
         FROM api_keys a JOIN tenants t ON t.id = a.tenant_id
        WHERE a.digest = $1 AND a.revoked_at IS NULL),
     s AS (
       INSERT INTO dashboard_sessions (digest, key_id, tenant_id, csrf_token, created_at, last_seen_at, expires_at)
       SELECT $2, k.id, k.tenant_id, $3, $4, $4, $5 FROM k
       RETURNING id, key_id, tenant_id, csrf_token, created_at, last_seen_at, expires_at)
     SELECT s.id, s.key_id, s.tenant_id, k.name AS tenant, k.scopes, k.prefix AS key_prefix, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at
       FROM s JOIN k ON k.id = s.key_id`,
    [s.keyDigest, s.digest, s.csrfToken, s.now, s.expiresAt],
  );
  return rows[0] ?? null;
}
