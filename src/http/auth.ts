import type { NextFunction, Request, Response } from 'express';
import type pg from 'pg';
import { timingSafeEqual } from 'node:crypto';
import { digestKey, isWellFormedKey, type Scope } from '../auth/keys.js';
import type { LastUsedRecorder } from '../auth/last-used.js';
import { HttpError } from '../errors.js';

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
 * Bearer-key authentication. Keys are looked up by their sha256 digest, never stored in clear, and
 * the digest is compared again in constant time. The lookup reads revoked_at on every request (one
 * indexed read; no cache), so a revoked key fails on its very next request in every api process.
 * Last use is noted in memory and written in batches by the recorder: no write per request.
 */
export function authenticate(pool: pg.Pool, lastUsed?: LastUsedRecorder) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new HttpError('unauthorized', 'Send your API key as "Authorization: Bearer <key>".', {}, { 'WWW-Authenticate': 'Bearer' });
    const key = m[1];
    if (!isWellFormedKey(key)) throw new HttpError('unauthorized', 'The API key is malformed (wrong prefix, length or checksum); check it was copied whole.', {}, { 'WWW-Authenticate': 'Bearer' });
    const digest = digestKey(key);
    const { rows } = await pool.query<{ id: string; tenant_id: string; scopes: Scope[]; digest: Buffer }>(
      `SELECT id, tenant_id, scopes, digest FROM api_keys WHERE digest = $1 AND revoked_at IS NULL`,
      [digest],
    );
    const row = rows[0];
    if (!row || row.digest.length !== digest.length || !timingSafeEqual(row.digest, digest)) {
      throw new HttpError('unauthorized', 'The API key is unknown or revoked.', {}, { 'WWW-Authenticate': 'Bearer' });
    }
    authOf.set(req, { tenantId: row.tenant_id, keyId: row.id, scopes: row.scopes });
    lastUsed?.note(row.id);
    next();
  };
}

export function requireScope(req: Request, scope: Scope) {
  const a = getAuth(req);
  if (!a.scopes.includes(scope) && !a.scopes.includes('admin')) {
    throw new HttpError('forbidden', `This API key lacks the "${scope}" scope.`);
  }
}
