import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { recordAudit } from '../audit/log.js';
import { deleteExpiredSessions } from '../db/deleteExpiredSessions.js';
import { deleteSession } from '../db/deleteSession.js';
import { findSession } from '../db/findSession.js';
import { insertSession } from '../db/insertSession.js';
import { withTransaction } from '../db/pool.js';
import type { SessionRow } from '../db/sessionRow.js';
import { touchSession } from '../db/touchSession.js';
import { trimKeySessions } from '../db/trimKeySessions.js';
import { digestKey, isWellFormedKey, type Auth, type Scope } from './keys.js';

// Dashboard sessions (docs/security.md, "Dashboard sessions"): an API key is exchanged once for a
// random token the browser keeps in an HttpOnly cookie. Postgres keeps the token's sha256 digest
// (a copy of the table signs nobody in), the key it acts for, a CSRF token, the last recorded use
// and the absolute end. Why a table rather than a signed cookie: signing out must kill the cookie
// everywhere at once, which a stateless cookie cannot do without a deny-list (state again), and the
// sliding idle expiry would need a fresh cookie on every response. A cookie request costs one
// indexed read that also reads the key's revoked_at and scopes, so revoking or re-scoping a key
// applies to its sessions at their next request in every api process, by any means (API, CLI,
// psql), with no cache to invalidate.

/** A key's live sessions beyond this many (its oldest) are ended when it signs in again. */
const MAX_SESSIONS_PER_KEY = 20;
/** Expired rows each sign-in deletes (more than the one it adds). */
const SWEEP_PER_SIGN_IN = 100;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface SessionSettings {
  /** Idle time after which a session ends (SESSION_IDLE_MINUTES); every use slides it. */
  idleMs: number;
  /** A session ends this long after sign-in whatever its use (SESSION_MAX_HOURS). */
  maxMs: number;
}

export interface Session {
  id: string;
  /** What requests authenticated by the session act as: the key's tenant, id and current scopes. */
  auth: Auth;
  tenant: string;
  keyPrefix: string;
  csrfToken: string;
  expiresAt: Date;
}

/** Who opens or ends a session, for the audit log. */
export interface SessionActor {
  ip: string | null;
  requestId: string | null;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

export class Sessions {
  /** Wall-clock milliseconds; tests move it to expire sessions without waiting. */
  now: () => number;
  /** Use is written at most this often per session: idle expiry is exact to within it. */
  readonly touchEveryMs: number;

  constructor(
    private readonly pool: pg.Pool,
    readonly settings: SessionSettings,
    opts: { now?: () => number } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.touchEveryMs = Math.min(60_000, settings.idleMs / 10);
  }

  /**
   * Exchanges an API key for a session: `token` goes in the cookie, never anywhere else. Null when
   * the key is malformed (no query), unknown or revoked. The audit row commits with the session.
   */
  async signIn(key: string, actor: SessionActor): Promise<{ token: string; session: Session } | null> {
    if (!isWellFormedKey(key)) return null;
    const token = randomBytes(32).toString('base64url');
    const now = new Date(this.now());
    const row = await withTransaction(this.pool, async (c) => {
      const s = await insertSession<Scope>(c, {
        keyDigest: digestKey(key), digest: digest(token), csrfToken: randomBytes(32).toString('base64url'),
        now, expiresAt: new Date(now.getTime() + this.settings.maxMs),
      });
      if (!s) return null;
      await recordAudit(c, { tenantId: s.tenant_id, actorType: 'key', actor: s.key_id, action: 'session.created', target: s.id, ip: actor.ip, requestId: actor.requestId });
      await trimKeySessions(c, s.key_id, new Date(now.getTime() - this.settings.idleMs), MAX_SESSIONS_PER_KEY);
      await deleteExpiredSessions(c, now, SWEEP_PER_SIGN_IN);
      return s;
    });
    return row ? { token, session: toSession(row) } : null;
  }

  /**
   * The live session of a cookie's token, its use recorded (sliding the idle expiry); null when the
   * token is not one, the session was ended, it expired (idle or absolute) or its key was revoked.
   */
  async find(token: string): Promise<Session | null> {
    if (!TOKEN.test(token)) return null;
    const row = await findSession<Scope>(this.pool, digest(token));
    if (!row) return null;
    const now = this.now();
    if (row.expires_at.getTime() <= now || row.last_seen_at.getTime() + this.settings.idleMs <= now) {
      await deleteSession(this.pool, row.id);
      return null;
    }
    if (now - row.last_seen_at.getTime() >= this.touchEveryMs) await touchSession(this.pool, row.id, new Date(now));
    return toSession(row);
  }

  /** Signs out: the session's cookie finds nothing from now on. */
  async end(session: Session, actor: SessionActor): Promise<void> {
    await withTransaction(this.pool, async (c) => {
      if (await deleteSession(c, session.id)) {
        await recordAudit(c, { tenantId: session.auth.tenantId, actorType: 'key', actor: session.auth.keyId, action: 'session.ended', target: session.id, ip: actor.ip, requestId: actor.requestId });
      }
    });
  }
}

/** A write's X-CSRF-Token against its session's, in constant time. */
export function csrfMatches(session: Session, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

function toSession(r: SessionRow<Scope>): Session {
  return {
    id: r.id,
    auth: { tenantId: r.tenant_id, keyId: r.key_id, scopes: r.scopes },
    tenant: r.tenant,
    keyPrefix: r.key_prefix,
    csrfToken: r.csrf_token,
    expiresAt: r.expires_at,
  };
}
