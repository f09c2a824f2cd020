import type { NextFunction, Request, Response } from 'express';
import type pg from 'pg';
import { digestKey, isWellFormedKey, type Auth, type Scope } from '../auth/keys.js';
import type { LastUsedRecorder } from '../auth/lastUsed.js';
import { findKeyByDigest } from '../db/findKeyByDigest.js';
import { HttpError } from '../errors.js';
import type { Lookups } from './lookups.js';

export type { Auth };

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
    const found = keys ? await keys.findKey(digest) : await findKeyByDigest<Scope>(pool, digest);
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
