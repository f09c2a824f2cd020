import type { NextFunction, Request, Response } from 'express';
import type pg from 'pg';
import { timingSafeEqual } from 'node:crypto';
import { digestKey, isWellFormedKey, type Scope } from '../auth/keys.js';
import type { LastUsedRecorder } from '../auth/last-used.js';
import { HttpError } from '../errors.js';
import type { Lookups } from './lookups.js';

export interface Auth {
  tenantId: string;
  keyId: string;
  scopes: Scope[];
}

const authOf = new WeakMap<Request, Auth>();

/** The caller, when authentication has run (middleware that may also see unauthenticated requests). */
export function findAuth(req: Request): Auth | undefined {
  return authOf.get(req);
}

export function getAuth(req: Request): Auth {
  const a = authOf.get(req);
  if (!a) throw new Error('route declared no scope but reads the caller');
  return a;
}

/**
 * The unrevoked key with this sha256 digest, read from Postgres (one indexed read), with the digest
 * compared again in constant time; null when there is none. The uncached primitive.
 */
export async function lookupKey(db: pg.Pool | pg.ClientBase, digest: Buffer): Promise<Auth | null> {
  const { rows } = await db.query<{ id: string; tenant_id: string; scopes: Scope[]; digest: Buffer }>(
    `SELECT id, tenant_id, scopes, digest FROM api_keys WHERE digest = $1 AND revoked_at IS NULL`,
    [digest],
  );
  const row = rows[0];
  if (!row || row.digest.length !== digest.length || !timingSafeEqual(row.digest, digest)) return null;
  return { tenantId: row.tenant_id, keyId: row.id, scopes: row.scopes };
}

/**
 * Bearer-key authentication. Keys are looked up by their sha256 digest, never stored in clear, and
 * the digest is compared again in constant time.
 *
 * With `keys` (the api's Lookups, src/http/lookups.ts) a key that authenticated recently is served
 * from a per-process cache without a query. Revocation still takes effect without waiting for a
 * TTL: a trigger NOTIFYs every api process when a key is revoked or changed and the cache drops it
 * when the notification arrives (milliseconds after the revocation commits); the process that
 * revoked it through the admin api drops it before answering. While the LISTEN connection is down
 * the cache is bypassed and every request reads revoked_at in Postgres, as it does without `keys`.
 * Unknown and revoked keys are never cached: they always cost one indexed read.
 * Last use is noted in memory and written in batches by the recorder: no write per request.
 */
export function authenticate(pool: pg.Pool, lastUsed?: LastUsedRecorder, keys?: Pick<Lookups, 'findKey'>) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new HttpError('unauthorized', 'Send your API key as "Authorization: Bearer <key>".', {}, { 'WWW-Authenticate': 'Bearer' });
    const key = m[1];
    if (!isWellFormedKey(key)) throw new HttpError('unauthorized', 'The API key is malformed (wrong prefix, length or checksum); check it was copied whole.', {}, { 'WWW-Authenticate': 'Bearer' });
    const digest = digestKey(key);
    const found = keys ? await keys.findKey(digest) : await lookupKey(pool, digest);
    if (!found) throw new HttpError('unauthorized', 'The API key is unknown or revoked.', {}, { 'WWW-Authenticate': 'Bearer' });
    authOf.set(req, found);
    lastUsed?.note(found.keyId);
    next();
  };
}

export function requireScope(req: Request, scope: Scope) {
  const a = getAuth(req);
  if (!a.scopes.includes(scope) && !a.scopes.includes('admin')) {
    throw new HttpError('forbidden', `This API key lacks the "${scope}" scope.`);
  }
}
