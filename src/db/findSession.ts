import type pg from 'pg';
import type { SessionRow } from './sessionRow.js';

/**
 * The session whose token has this sha256 digest, if its key is not revoked, with the key's scopes
 * as they are now: revocation and re-scoping apply to the next request, from any process, without
 * a cache to invalidate. Expiry is the caller's to judge (its clock).
 */
export async function findSession<S extends string = string>(db: pg.Pool | pg.ClientBase, digest: Buffer): Promise<SessionRow<S> | null> {
  const { rows } = await db.query<SessionRow<S>>(
    `SELECT s.id, s.key_id, s.tenant_id, t.name AS tenant, k.scopes, k.prefix AS key_prefix, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at
       FROM dashboard_sessions s
       JOIN api_keys k ON k.id = s.key_id AND k.revoked_at IS NULL
       JOIN tenants t ON t.id = s.tenant_id
      WHERE s.digest = $1`,
    [digest],
  );
  return rows[0] ?? null;
}
