import type { Request, Response } from 'express';
import type { RedisClient } from '../queue/redis.js';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { Session, Sessions } from '../auth/sessions.js';
import { HttpError } from '../errors.js';

// The dashboard session's cookie and the throttle on failed sign-ins (docs/security.md,
// "Dashboard sessions"). Sessions themselves are src/auth/sessions.ts; authentication by the
// cookie, and its CSRF check, is in src/http/auth.ts.

export const SESSION_COOKIE = 'sluice_session';
export const CSRF_HEADER = 'X-CSRF-Token';

/** Failed sign-ins allowed per client address per minute before 429. */
export const SIGN_IN_FAILURES_PER_MINUTE = 10;

/**
 * The session cookie's value from the Cookie header (the first one of that name), or undefined.
 * By hand rather than a cookie library: one name, and a token is base64url, never quoted or encoded.
 */
export function readSessionCookie(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    return part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/**
 * HttpOnly: page scripts (an injected one included) cannot read it. SameSite=Strict: a browser does
 * not send it with requests another site starts, links included. Secure when the request came over
 * https (behind a proxy trusted by TRUST_PROXY, X-Forwarded-Proto says so): a cookie marked Secure
 * on plain http would be dropped by the browser, and local http://localhost must work.
 */
function attributes(req: Request) {
  return { httpOnly: true, sameSite: 'strict', path: '/', secure: req.secure } as const;
}

export function setSessionCookie(req: Request, res: Response, token: string, session: Session, sessions: Sessions): void {
  // Expires with the session's absolute end; the idle end is the server's to enforce.
  res.cookie(SESSION_COOKIE, token, { ...attributes(req), maxAge: Math.max(0, session.expiresAt.getTime() - sessions.now()) });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, attributes(req));
}

/** What GET /v1/sessions/current and POST /v1/sessions answer (never the key, nor the cookie's token). */
export function sessionView(s: Session, sessions: Sessions) {
  return {
    object: 'session' as const,
    tenant: s.tenant,
    scopes: s.auth.scopes,
    key_prefix: s.keyPrefix,
    expires_at: s.expiresAt.toISOString(),
    idle_timeout_seconds: Math.round(sessions.settings.idleMs / 1000),
    csrf_token: s.csrfToken,
  };
}

/**
 * Failed sign-ins counted per client address in Redis (every api process shares the count; the
 * process's memory stands in while Redis is away). A key is 256 random bits, so this is not what
 * stops guessing; it keeps the sign-in from being a free oracle or a cheap way to load Postgres.
 */
export class SignInThrottle {
  private readonly limiter: RateLimiterRedis;

  constructor(redis: RedisClient, redisPrefix: string) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${redisPrefix}:rl:signin-fail`,
      points: SIGN_IN_FAILURES_PER_MINUTE,
      duration: 60,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ points: SIGN_IN_FAILURES_PER_MINUTE, duration: 60 }),
    });
  }

  /** 429 while the address has used up its failures. */
  async check(ip: string): Promise<void> {
    const r = await this.limiter.get(ip).catch(() => null);
    if (r && r.consumedPoints >= SIGN_IN_FAILURES_PER_MINUTE) {
      const seconds = Math.max(1, Math.ceil(r.msBeforeNext / 1000));
      throw new HttpError('rate_limited', `Too many failed sign-ins from your address (${SIGN_IN_FAILURES_PER_MINUTE} a minute); wait ${seconds} s and check the key.`, { retry_after: seconds }, { 'Retry-After': String(seconds) });
    }
  }

  async failed(ip: string): Promise<void> {
    await this.limiter.penalty(ip, 1).catch(() => {});
  }
}
