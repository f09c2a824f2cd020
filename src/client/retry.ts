import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionError } from './errors.js';

// Retries in one place, for every call the client makes (as openai-node does): the statuses that
// say "not now" are retried with exponential backoff and jitter, waiting at least what the server
// asked for in Retry-After. What may be replayed depends on the request:
//  - idempotent ones (GET, PUT, DELETE, and a submission carrying an idempotency key): 408, 429,
//    500, 502, 503, 504 and any connection failure;
//  - others (POST without a key): only 429 and 503, which the api sends before it acts, and a
//    refused connection (nothing was sent). A reset mid-request may have been acted on.
// A body that is a stream is never replayed by this module: the caller's `attempt` makes a new one.

const IDEMPOTENT_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const REFUSED_STATUSES = new Set([429, 503]);
const MAX_BACKOFF_MS = 8_000;
/** A Retry-After longer than this is not waited for: the error goes to the caller. */
const MAX_RETRY_AFTER_MS = 60_000;

export interface RetryOptions {
  /** Retries after the first attempt (default 2). */
  maxRetries?: number;
  /** Told before each wait: for logs and tests. */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  attempt: number;
  delayMs: number;
  status: number | null;
  error: unknown;
}

export function shouldRetryStatus(status: number, idempotent: boolean): boolean {
  return (idempotent ? IDEMPOTENT_STATUSES : REFUSED_STATUSES).has(status);
}

/** How long to wait before retry `attempt` (1-based): Retry-After when given (seconds or a date), else backoff. */
export function retryDelayMs(attempt: number, headers?: Headers | null): number {
  const fromServer = retryAfterMs(headers);
  const backoff = Math.min(500 * 2 ** (attempt - 1), MAX_BACKOFF_MS) * (1 - Math.random() * 0.25);
  return fromServer === null ? backoff : Math.max(fromServer, 0);
}

function retryAfterMs(headers?: Headers | null): number | null {
  const raw = headers?.get('retry-after');
  if (!raw) return null;
  const seconds = Number(raw);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(raw) - Date.now();
  return Number.isFinite(ms) ? ms : null;
}

/** Errors that mean no HTTP answer came. `refusedOnly`: only those where nothing reached the server. */
export function isConnectionFailure(err: unknown, refusedOnly = false): boolean {
  if (!(err instanceof TypeError)) return false; // fetch reports network failures as TypeError; aborts are DOMExceptions
  const code = (err.cause as { code?: string } | undefined)?.code;
  if (refusedOnly) return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
  return true;
}

/**
 * Runs `attempt` until it gives a response that is not to be retried, or the retries run out (then
 * the last response is returned for the caller to turn into its error). No answer at all ends in a
 * ConnectionError naming `url`.
 */
export async function withRetries(
  url: string,
  opts: RetryOptions & { idempotent: boolean; signal?: AbortSignal | null },
  attempt: () => Promise<Response>,
): Promise<Response> {
  const max = opts.maxRetries ?? 2;
  for (let n = 0; ; n++) {
    let res: Response;
    try {
      res = await attempt();
    } catch (err) {
      if (!isConnectionFailure(err, !opts.idempotent)) {
        if (isConnectionFailure(err)) throw new ConnectionError(url, { cause: err });
        throw err;
      }
      if (n >= max) throw new ConnectionError(url, { cause: err });
      const delayMs = retryDelayMs(n + 1);
      opts.onRetry?.({ attempt: n + 1, delayMs, status: null, error: err });
      await sleep(delayMs, undefined, { signal: opts.signal ?? undefined });
      continue;
    }
    if (n >= max || !shouldRetryStatus(res.status, opts.idempotent)) return res;
    const delayMs = retryDelayMs(n + 1, res.headers);
    if (delayMs > MAX_RETRY_AFTER_MS) return res;
    await res.body?.cancel().catch(() => {});
    opts.onRetry?.({ attempt: n + 1, delayMs, status: res.status, error: null });
    await sleep(delayMs, undefined, { signal: opts.signal ?? undefined });
  }
}
