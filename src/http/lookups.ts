import { timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import type { Auth, Scope } from '../auth/keys.js';
import { findKeyByDigest } from '../db/findKeyByDigest.js';
import { queuedRows } from '../db/queuedRows.js';
import { parseModelRef, resolveModel, type ResolvedVersion } from '../models/resolve.js';
import { LookupListener, type LookupListenerOptions } from './lookupListener.js';

export interface LookupsOptions {
  /** Safety net behind the notifications: a cached key or model reference is re-read after this. */
  keyTtlMs?: number;
  maxKeys?: number;
  modelTtlMs?: number;
  maxModelRefs?: number;
  /** How old a queued-rows reading far below the cap may be and still be reused. */
  quotaReuseMs?: number;
  maxQuotaTenants?: number;
  /** Monotonic milliseconds (tests move time themselves). */
  now?: () => number;
}

/**
 * Per-process caches of what every request used to read from Postgres before doing any work: the
 * API key by digest, a model reference resolved for a tenant, and a tenant's queued rows.
 *
 * Invalidation comes from Postgres itself: triggers (migrations/0006_lookup_notify.sql) NOTIFY
 * `sluice_lookups` when a key is revoked or changed (`key:<id>`) or when a tenant's references may
 * resolve differently (`models:<tenant>`); `listener` holds the one connection that LISTENs.
 *
 * Rules that keep this as safe as reading Postgres every time:
 *  - Nothing is served from, or written to, a cache unless LISTEN is in effect. When the LISTEN
 *    connection is down (startup, error, Postgres restart) every lookup reads Postgres, so an
 *    outage still answers 503 as before; when it comes back, the caches start empty, since
 *    notifications sent meanwhile were lost.
 *  - An answer read from Postgres is cached only if no invalidation of that cache happened while
 *    it was being read (an epoch per cache): a read that raced a revocation cannot put the key
 *    back after its notification evicted it.
 *  - Only positive key lookups are cached: an unknown or revoked key always reads Postgres, so a
 *    flood of bad keys costs what it cost before and cannot fill memory. Unknown models and
 *    malformed references are not cached either.
 *  - Every cache is bounded (least recently used goes first) and every entry expires (TTL), which
 *    bounds the damage of a notification lost without the connection noticing.
 *  - The process that revokes a key or changes a model evicts locally before it answers
 *    (forgetKey, forgetModels), so it never serves the old answer even for the notification's
 *    round trip. Other processes drop it when the notification arrives (milliseconds).
 */
export class Lookups {
  readonly listener: LookupListener;
  /** Hits and misses, for tests and debugging. */
  readonly stats = { keyHits: 0, keyMisses: 0, modelHits: 0, modelMisses: 0, quotaReused: 0, quotaRead: 0, notifications: 0 };
  private readonly keys: BoundedCache<CachedKey>;
  private readonly models: BoundedCache<ResolvedVersion>;
  private readonly quota: BoundedCache<QuotaReading>;
  private readonly now: () => number;
  private keysEpoch = 0;
  private modelsEpoch = 0;

  constructor(
    /** The pool it reads through (the api's). */
    readonly pool: pg.Pool,
    listener: LookupListener | Omit<LookupListenerOptions, 'shouldStop'>,
    opts: LookupsOptions = {},
  ) {
    this.now = opts.now ?? (() => performance.now());
    this.keys = new BoundedCache(opts.maxKeys ?? 10_000, opts.keyTtlMs ?? 60_000);
    this.models = new BoundedCache(opts.maxModelRefs ?? 2_000, opts.modelTtlMs ?? 60_000);
    // The cache's TTL is what bounds a reading's age.
    this.quota = new BoundedCache(opts.maxQuotaTenants ?? 10_000, opts.quotaReuseMs ?? 1000);
    // The listener lives as long as the pool this reads through (a caller that ends the pool
    // without closing us leaves no reconnect loop behind).
    this.listener = listener instanceof LookupListener ? listener : new LookupListener({ ...listener, shouldStop: () => pool.ending || pool.ended });
    this.listener.on('up', () => this.clear());
    this.listener.on('down', () => this.clear());
    this.listener.on('notification', (payload: string) => this.onNotification(payload));
  }

  /** Starts listening; resolves after the first attempt (true when the caches are in use). */
  start(): Promise<boolean> {
    return this.listener.start();
  }

  get listening(): boolean {
    return this.listener.listening;
  }

  close(): Promise<void> {
    return this.listener.close();
  }

  /** The key with this sha256 digest, unrevoked; null when there is none (never cached). */
  async findKey(digest: Buffer): Promise<Auth | null> {
    const id = digest.toString('hex');
    if (this.listening) {
      const hit = this.keys.get(id, this.now());
      if (hit && hit.digest.length === digest.length && timingSafeEqual(hit.digest, digest)) {
        this.stats.keyHits++;
        return hit.auth;
      }
    }
    this.stats.keyMisses++;
    const epoch = this.keysEpoch;
    const found = await findKeyByDigest<Scope>(this.pool, digest);
    if (found && this.listening && epoch === this.keysEpoch) {
      this.keys.set(id, { digest: Buffer.from(digest), auth: Object.freeze({ ...found, scopes: Object.freeze([...found.scopes]) as Auth['scopes'] }) }, this.now());
    }
    return found;
  }

  /** Drops a key at once (the revoking process calls this after its revocation committed). */
  forgetKey(keyId: string): void {
    this.keysEpoch++;
    this.keys.deleteWhere((_, v) => v.auth.keyId === keyId);
  }

  /**
   * resolveModel (src/models/resolve.ts) with a per-process cache keyed by tenant and the parsed
   * reference. The answer is shared between requests: treat it as read-only. An alias split
   * between versions is cached with its split (every version's signature and plan, the weights),
   * so a prediction through it picks a version without a query (src/models/canary.ts); a split is a
   * column of model_aliases, whose trigger (migrations/0006) announces every change of it.
   */
  async resolveModel(tenantId: string, ref: string): Promise<ResolvedVersion> {
    const { name, version, alias } = parseModelRef(ref);
    const key = `${tenantId}\n${name}\n${version ?? ''}\n${alias ?? ''}`;
    if (this.listening) {
      const hit = this.models.get(key, this.now());
      if (hit) {
        this.stats.modelHits++;
        return hit;
      }
    }
    this.stats.modelMisses++;
    const epoch = this.modelsEpoch;
    const resolved = await resolveModel(this.pool, tenantId, ref);
    if (this.listening && epoch === this.modelsEpoch) this.models.set(key, resolved, this.now());
    return resolved;
  }

  /** Drops every reference of the tenant (after a registration or alias change in this process). */
  forgetModels(tenantId: string): void {
    this.modelsEpoch++;
    const prefix = `${tenantId}\n`;
    this.models.deleteWhere((k) => k.startsWith(prefix));
  }

  /**
   * The tenant's queued rows for the cap check, read from Postgres unless a recent reading is far
   * enough below the cap that being a little stale cannot matter:
   *  - A reading is reused only while it is younger than quotaReuseMs (1 s) AND the reading plus
   *    everything this process has let in on it, each request counted at its largest possible size
   *    (`requestRows`: MAX_PREDICTION_RECORDS for a prediction, MAX_ROWS_PER_JOB for a CSV job),
   *    plus this request's largest size, stays below HALF the cap. Otherwise (near the cap, or a
   *    request that could be big) Postgres is read, exactly as without the cache.
   *  - So this process on its own never lets a tenant further over the cap than the uncached check
   *    would: r + everything admitted on reading r stays under cap/2. What the cache adds: another
   *    api process's admissions during the reuse window are not seen. Each of P processes can admit
   *    up to cap/2 on readings taken at about the same time, so the tenant can pass the cap by up to
   *    (P − 2) × cap/2 rows more than without the cache — not at all with one or two api processes —
   *    and only by submitting that many rows within a second (RATE_LIMIT_PER_SECOND bounds a key).
   *    The existing slack remains: a job accepted just under the cap can take the tenant over it by
   *    one job's rows, and rows of requests still in flight are seen by no check, cached or not.
   */
  async queuedRows(tenantId: string, cap: number, requestRows: number): Promise<number> {
    const now = this.now();
    if (this.listening) {
      const r = this.quota.get(tenantId, now);
      if (r && r.rows + r.admitted + requestRows < cap / 2) {
        r.admitted += requestRows;
        this.stats.quotaReused++;
        return r.rows;
      }
    }
    this.stats.quotaRead++;
    const rows = await queuedRows(this.pool, tenantId);
    if (this.listening) {
      const prev = this.quota.get(tenantId, this.now());
      // A reading taken earlier than the one already kept (reads can finish out of order) is dropped.
      if (!prev || prev.at <= now) this.quota.set(tenantId, { rows, at: now, admitted: rows < cap ? requestRows : 0 }, now);
    }
    return rows;
  }

  private onNotification(payload: string) {
    this.stats.notifications++;
    if (payload.startsWith('key:')) this.forgetKey(payload.slice(4));
    else if (payload.startsWith('models:')) this.forgetModels(payload.slice(7));
    else this.clear(); // 'all', or anything this build does not know: forget everything
  }

  private clear() {
    this.keysEpoch++;
    this.modelsEpoch++;
    this.keys.clear();
    this.models.clear();
    this.quota.clear();
  }
}

interface CachedKey {
  digest: Buffer;
  auth: Auth;
}

interface QuotaReading {
  rows: number;
  /** When the reading was asked for (monotonic ms). */
  at: number;
  /** Rows (at their largest) this process admitted on this reading. */
  admitted: number;
}

/** A Map with a size bound (least recently used goes first) and a time to live per entry. */
class BoundedCache<V> {
  private readonly map = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}

  get(key: string, now: number): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    if (e.expires <= now) return undefined;
    this.map.set(key, e); // most recently used last
    return e.value;
  }

  set(key: string, value: V, now: number): void {
    this.map.delete(key);
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, { value, expires: now + this.ttlMs });
  }

  deleteWhere(pred: (key: string, value: V) => boolean): void {
    for (const [k, e] of this.map) if (pred(k, e.value)) this.map.delete(k);
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}
