import type { NextFunction, Request, Response } from 'express';
import type pg from 'pg';
import { digestKey, isWellFormedKey, type Auth, type Scope } from '../auth/keys.js';
import type { LastUsedRecorder } from '../auth/lastUsed.js';
import { csrfMatches, type Session, type Sessions } from '../auth/sessions.js';
import { findKeyByDigest } from '../db/findKeyByDigest.js';
import { HttpError } from '../errors.js';
import type { Lookups } from './lookups.js';
import { clearSessionCookie, CSRF_HEADER, readSessionCookie } from './sessions.js';

export type { Auth };

const authOf = new WeakMap<Request, Auth>();
const sessionOf = new WeakMap<Request, Session>();

/** The dashboard session a request was authenticated by (undefined for a bearer key). */
export function requestSession(req: Request): Session | undefined {
  return sessionOf.get(req);
}

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
 * Bearer-key authentication, or the dashboard's session cookie (src/auth/sessions.ts).
 *
 * Keys are looked up by their sha256 digest, never stored in clear, and the digest is compared
 * again in constant time.
 *
 * With `keys` (the api's Lookups, src/http/lookups.ts) a key that authenticated recently is served
 * from a per-process cache without a query. Revocation still takes effect without waiting for a
 * TTL: a trigger NOTIFYs every api process when a key is revoked or changed and the cache drops it
 * when the notification arrives (milliseconds after the revocation commits); the process that
 * revoked it through the admin api drops it before answering. While the LISTEN connection is down
 * the cache is bypassed and every request reads revoked_at in Postgres, as it does without `keys`.
 * Unknown and revoked keys are never cached: they always cost one indexed read.
 * Last use is noted in memory and written in batches by the recorder: no write per request.
 *
 * With `sessions`, a request without an Authorization header may carry the session cookie instead:
 * it acts as the session's key, with the key's scopes as they are now (read with the session, so a
 * revoked key's sessions end at their next request). A cookie-authenticated write (any method but
 * GET, HEAD, OPTIONS) must also send X-CSRF-Token equal to the session's token, which a page of
 * another site cannot read, else 403 csrf_failed. An Authorization header, when present, decides
 * alone: a cookie beside it is ignored (a header is never sent by a browser on its own).
 */
export function authenticate(pool: pg.Pool, lastUsed?: LastUsedRecorder, keys?: Pick<Lookups, 'findKey'>, sessions?: Sessions) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (header === undefined && sessions) {
      const token = readSessionCookie(req);
      if (token !== undefined) {
        const session = await sessions.find(token);
        if (!session) {
          clearSessionCookie(req, res);
          throw new HttpError('unauthorized', 'Your dashboard session has ended (signed out, idle too long, past its maximum age, or its API key was revoked); sign in again.', {}, { 'WWW-Authenticate': 'Bearer' });
        }
        if (!SAFE_METHODS.has(req.method) && !csrfMatches(session, req.get(CSRF_HEADER))) {
          throw new HttpError('csrf_failed', `A request authenticated by the session cookie that changes something must send the ${CSRF_HEADER} header with the csrf_token of POST /v1/sessions (or GET /v1/sessions/current).`);
        }
        authOf.set(req, session.auth);
        sessionOf.set(req, session);
        lastUsed?.note(session.auth.keyId);
        return next();
      }
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
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

/** Methods that change nothing: a cookie may authenticate them without the CSRF header. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function requireScope(req: Request, scope: Scope) {
  const a = getAuth(req);
  if (!a.scopes.includes(scope) && !a.scopes.includes('admin')) {
    throw new HttpError('forbidden', `This API key lacks the "${scope}" scope.`);
  }
}
