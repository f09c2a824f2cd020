import type { NextFunction, Request, Response } from 'express';
import type pg from 'pg';
import { digestKey, isWellFormedKey, type Scope } from '../auth/keys.js';
import { HttpError } from '../errors.js';

export interface Auth {
  tenantId: string;
  keyId: string;
  scopes: Scope[];
}

const authOf = new WeakMap<Request, Auth>();

export function getAuth(req: Request): Auth {
  const a = authOf.get(req);
  if (!a) throw new Error('route declared no scope but reads the caller');
  return a;
}

/** Bearer-key authentication. Keys are looked up by their sha256 digest, never stored in clear. */
export function authenticate(pool: pg.Pool) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new HttpError('unauthorized', 'Send your API key as "Authorization: Bearer <key>".', {}, { 'WWW-Authenticate': 'Bearer' });
    const key = m[1];
    if (!isWellFormedKey(key)) throw new HttpError('unauthorized', 'The API key is malformed (wrong prefix, length or checksum); check it was copied whole.', {}, { 'WWW-Authenticate': 'Bearer' });
    const { rows } = await pool.query<{ id: string; tenant_id: string; scopes: Scope[] }>(
      `SELECT id, tenant_id, scopes FROM api_keys WHERE digest = $1 AND revoked_at IS NULL`,
      [digestKey(key)],
    );
    if (!rows[0]) throw new HttpError('unauthorized', 'The API key is unknown or revoked.', {}, { 'WWW-Authenticate': 'Bearer' });
    authOf.set(req, { tenantId: rows[0].tenant_id, keyId: rows[0].id, scopes: rows[0].scopes });
    next();
  };
}

export function requireScope(req: Request, scope: Scope) {
  const a = getAuth(req);
  if (!a.scopes.includes(scope) && !a.scopes.includes('admin')) {
    throw new HttpError('forbidden', `This API key lacks the "${scope}" scope.`);
  }
}
