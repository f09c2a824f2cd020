import { timingSafeEqual } from 'node:crypto';
import type pg from 'pg';

/** What an API key authenticates as. Scopes are typed by the caller (src/auth/keys.ts names them). */
export interface KeyMatch<S extends string = string> {
  tenantId: string;
  keyId: string;
  scopes: S[];
}

/**
 * The unrevoked key with this sha256 digest, read from Postgres (one indexed read), with the digest
 * compared again in constant time; null when there is none. The uncached primitive: the api's
 * cache (src/http/lookups.ts) and the authentication middleware without it both read through this.
 */
export async function findKeyByDigest<S extends string = string>(db: pg.Pool | pg.ClientBase, digest: Buffer): Promise<KeyMatch<S> | null> {
  const { rows } = await db.query<{ id: string; tenant_id: string; scopes: S[]; digest: Buffer }>(
    `SELECT id, tenant_id, scopes, digest FROM api_keys WHERE digest = $1 AND revoked_at IS NULL`,
    [digest],
  );
  const row = rows[0];
  if (!row || row.digest.length !== digest.length || !timingSafeEqual(row.digest, digest)) return null;
  return { tenantId: row.tenant_id, keyId: row.id, scopes: row.scopes };
}
