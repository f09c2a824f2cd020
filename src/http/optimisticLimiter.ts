import { RateLimiterRes, type RateLimiterRedis } from 'rate-limiter-flexible';

/** Below this share of the budget left (and never below one point), a request waits for Redis's verdict. */
const MARGIN = 0.1;
/** Keys whose last verdict is remembered; beyond, the oldest is forgotten (its next request asks Redis). */
const KEYS_KEPT = 10_000;

interface Known {
  /** Points left as Redis last said, less the requests sent since and not yet counted by it. */
  remaining: number;
  /** When Redis's window that verdict belongs to ends (ms since the epoch). */
  resetAt: number;
  /** Consumes sent for this key and not yet answered. */
  pending: number;
}

/**
 * A requests-per-second budget counted in Redis (one count for every api process), without a
 * Redis round trip in front of most requests. Every request is still counted in Redis; what
 * changes is when a request waits for the count:
 *  - while the last verdict for the key, in this window, leaves more than a tenth of the budget,
 *    the request goes on at once and its consume is sent behind it (its answer updates what this
 *    process knows);
 *  - otherwise (a key not seen in this window, close to its limit or over it, or several requests
 *    of a key arriving before any answer) the request waits for Redis's verdict, as before.
 * So the edge of the budget is decided by Redis exactly, as is any burst; what may slip through
 * is what all api processes admit within one Redis round trip while the last verdicts said more
 * than a tenth was left: nothing at a limit a single client can reach in that time. A lone
 * request saves the round trip it used to wait for (docs/benchmarks.md, single items).
 */
export class OptimisticLimiter {
  private readonly known = new Map<string, Known>();
  private readonly margin: number;

  constructor(private readonly limiter: RateLimiterRedis, points: number, private readonly onLateError: (err: unknown) => void) {
    this.margin = Math.max(1, Math.ceil(points * MARGIN));
  }

  /**
   * The points left (as known) when the request may go; rejects with RateLimiterRes when Redis
   * says it is over. A number, not a promise, when it goes without waiting.
   */
  consume(id: string): number | Promise<number> {
    const k = this.known.get(id);
    const sure = !!k && k.pending === 0 && Date.now() < k.resetAt && k.remaining > this.margin;
    const counted = this.send(id);
    if (sure) {
      k.remaining--;
      counted.catch((err: unknown) => err instanceof RateLimiterRes || this.onLateError(err));
      return k.remaining;
    }
    return counted.then((r) => r.remainingPoints);
  }

  private send(id: string): Promise<RateLimiterRes> {
    const k = this.entry(id);
    k.pending++;
    const answered = (r: RateLimiterRes) => {
      k.pending--;
      k.remaining = Math.max(0, r.remainingPoints - k.pending);
      k.resetAt = Date.now() + r.msBeforeNext;
    };
    return this.limiter.consume(id).then(
      (r) => (answered(r), r),
      (err: unknown) => {
        if (err instanceof RateLimiterRes) answered(err);
        else k.pending--;
        throw err;
      },
    );
  }

  private entry(id: string): Known {
    let k = this.known.get(id);
    if (k) return k;
    if (this.known.size >= KEYS_KEPT) this.known.delete(this.known.keys().next().value!);
    this.known.set(id, (k = { remaining: 0, resetAt: 0, pending: 0 }));
    return k;
  }
}
