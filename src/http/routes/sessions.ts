import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { Sessions, SessionActor } from '../../auth/sessions.js';
import { HttpError } from '../../errors.js';
import { requestSession } from '../auth.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, type ResponseSpec } from '../route.js';
import { Session, SessionCreateRequest } from '../sessionSchemas.js';
import { clearSessionCookie, readSessionCookie, SESSION_COOKIE, sessionView, setSessionCookie, SignInThrottle, SIGN_IN_FAILURES_PER_MINUTE } from '../sessions.js';

// Dashboard sign-in, the current session and sign-out (docs/security.md, "Dashboard sessions").
// Declared with their full /v1 paths and no scope, on a router mounted before the /v1 router's key
// check: signing in takes the key in the body, not a header, and the current session is found by
// its cookie (the `authenticate` given here runs for /v1/sessions/current only).

const COOKIE_HEADER = { 'Set-Cookie': { description: `${SESSION_COOKIE}=<token>; Path=/; HttpOnly; SameSite=Strict, plus Secure over https and Max-Age/Expires at the session's absolute end`, schema: { type: 'string' } } };
const CLEAR_COOKIE_HEADER = { 'Set-Cookie': { description: `${SESSION_COOKIE}=; Path=/; Expires in the past: the browser drops the cookie`, schema: { type: 'string' } } };
const UNAVAILABLE: ResponseSpec = { description: 'service_unavailable: a backing service is briefly unavailable; retry after Retry-After' };
const NO_SESSION: ResponseSpec = { description: 'unauthorized: no session cookie, or the session ended (signed out, idle, past its maximum age, its key revoked); the cookie is cleared' };

const actorOf = (req: Request): SessionActor => ({ ip: req.ip ?? null, requestId: String(req.id ?? '') || null });

/**
 * Only a JSON body signs in: a form of another site can post urlencoded or multipart but not JSON
 * without a CORS preflight, which this server does not grant, so no page elsewhere can sign a
 * visitor in with a key of its own choosing (login CSRF).
 */
function jsonOnly(req: Request, _res: Response, next: NextFunction) {
  if (!req.is('application/json')) throw new HttpError('unsupported_media_type', 'Send the key as JSON: Content-Type: application/json with {"key": "sluice_sk_…"}.');
  next();
}

export function registerSessionRoutes(router: Router, deps: AppDeps, sessions: Sessions, currentSession: RequestHandler[]) {
  const throttle = new SignInThrottle(deps.redis, deps.config.redisPrefix);

  router.post('/v1/sessions', jsonOnly);
  defineRoute(
    router,
    {
      method: 'post', path: '/v1/sessions', scope: null, security: [], tags: ['sessions'], operationId: 'createSession',
      summary: 'Sign in to the dashboard: exchange an API key for an HttpOnly session cookie acting with the key\'s scopes',
      body: SessionCreateRequest,
      responses: {
        201: { description: 'signed in: the cookie is set; the body never holds the key or the cookie\'s token', schema: Session, headers: COOKIE_HEADER },
        401: { description: 'unauthorized: the key is malformed, unknown or revoked (it is not echoed)' },
        415: { description: 'unsupported_media_type: the body must be JSON' },
        429: { description: `rate_limited: more than ${SIGN_IN_FAILURES_PER_MINUTE} failed sign-ins a minute from this address; wait for Retry-After` },
        503: UNAVAILABLE,
      },
    },
    async (req, res, { body }) => {
      const ip = req.ip ?? 'unknown';
      await throttle.check(ip);
      const opened = await sessions.signIn(body.key, actorOf(req));
      if (!opened) {
        await throttle.failed(ip);
        throw new HttpError('unauthorized', 'The API key is malformed, unknown or revoked; check it was copied whole.', {}, { 'WWW-Authenticate': 'Bearer' });
      }
      setSessionCookie(req, res, opened.token, opened.session, sessions);
      res.status(201).setHeader('Cache-Control', 'no-store');
      res.json(sessionView(opened.session, sessions));
    },
  );

  // The cookie's session, found by `authenticate` (which also checks X-CSRF-Token on the DELETE).
  router.use('/v1/sessions/current', (req: Request, _res: Response, next: NextFunction) => {
    if (readSessionCookie(req) === undefined) throw new HttpError('unauthorized', `No dashboard session (no ${SESSION_COOKIE} cookie): sign in with POST /v1/sessions.`, {}, { 'WWW-Authenticate': 'Bearer' });
    next();
  }, ...currentSession);
  const current = (req: Request) => {
    const s = requestSession(req);
    if (!s) throw new HttpError('unauthorized', 'This request is authenticated by an Authorization header, not by a dashboard session; send it without the header.', {}, { 'WWW-Authenticate': 'Bearer' });
    return s;
  };

  defineRoute(
    router,
    {
      method: 'get', path: '/v1/sessions/current', scope: null, security: [{ cookieAuth: [] }], tags: ['sessions'], operationId: 'getCurrentSession',
      summary: 'The dashboard session of the cookie: tenant, scopes, expiry and its CSRF token. Counts as use (the idle expiry slides).',
      responses: {
        200: { description: 'the session', schema: Session },
        401: NO_SESSION,
        429: { description: 'rate_limited: the key\'s request rate (RATE_LIMIT_PER_SECOND); wait for Retry-After' },
        503: UNAVAILABLE,
      },
    },
    (req, res) => {
      res.setHeader('Cache-Control', 'no-store');
      res.json(sessionView(current(req), sessions));
    },
  );

  defineRoute(
    router,
    {
      method: 'delete', path: '/v1/sessions/current', scope: null, security: [{ cookieAuth: [] }], tags: ['sessions'], operationId: 'deleteCurrentSession',
      summary: 'Sign out: the session ends at once in every api process and the cookie is cleared. Needs X-CSRF-Token.',
      responses: {
        204: { description: 'signed out; the cookie is cleared', headers: CLEAR_COOKIE_HEADER },
        401: NO_SESSION,
        403: { description: 'csrf_failed: the X-CSRF-Token header is missing or is not the session\'s csrf_token' },
        429: { description: 'rate_limited: the key\'s request rate (RATE_LIMIT_PER_SECOND); wait for Retry-After' },
        503: UNAVAILABLE,
      },
    },
    async (req, res) => {
      await sessions.end(current(req), actorOf(req));
      clearSessionCookie(req, res);
      res.status(204).end();
    },
  );
}
