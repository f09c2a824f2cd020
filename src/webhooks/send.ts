import http from 'node:http';
import https from 'node:https';
import { parseRetryAfter, type Outcome } from './policy.js';
import { AddressRefusedError, DnsError, pinnedLookup, resolveChecked, type Resolver } from './ssrf.js';

// One attempt: resolve and check the host, connect to the checked address, POST, read the status
// and the first bytes of the answer, give up at the deadline. Redirects are not followed (Node's
// http never follows them; a 3xx is an outcome like any other). The deadline covers everything
// from resolution to the status line, so a receiver that accepts and never answers is a timeout.

export const EXCERPT_BYTES = 512;
const USER_AGENT = 'Sluice-Webhooks/1.0 (+https://www.standardwebhooks.com)';

export interface AttemptRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  allowPrivate: boolean;
  resolve?: Resolver;
}

export interface AttemptResult extends Outcome {
  startedAt: Date;
  latencyMs: number;
  address?: string;
  error?: string;
  responseExcerpt?: string;
}

class TimeoutError extends Error {}

export async function sendOnce(req: AttemptRequest): Promise<AttemptResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const done = (r: Omit<AttemptResult, 'startedAt' | 'latencyMs'>): AttemptResult => ({ ...r, startedAt, latencyMs: Math.round(performance.now() - t0) });

  let timer: NodeJS.Timeout | undefined;
  let onTimeout: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new TimeoutError(`no response within ${req.timeoutMs} ms`));
    }, req.timeoutMs);
  });
  let address: string | undefined;
  try {
    const url = new URL(req.url);
    const checked = await Promise.race([resolveChecked(url.hostname, { allowPrivate: req.allowPrivate, resolve: req.resolve }), deadline]);
    address = checked.address;
    const r = await Promise.race([post(url, req, checked, (abort) => (onTimeout = abort)), deadline]);
    const retryAfterMs = parseRetryAfter(r.retryAfter);
    const ok = r.status >= 200 && r.status < 300;
    return done({
      kind: ok ? 'success' : 'http_error',
      status: r.status,
      retryAfterMs,
      address,
      error: ok ? undefined : `HTTP ${r.status}${r.location ? ` (redirect to ${r.location.slice(0, 200)} not followed)` : ''}`,
      responseExcerpt: r.excerpt,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof TimeoutError) return done({ kind: 'timeout', address, error: e.message });
    if (err instanceof AddressRefusedError) return done({ kind: 'refused_address', error: e.message });
    if (err instanceof DnsError) return done({ kind: 'dns', error: e.message });
    return done({ kind: 'network', address, error: `${e.code ? `${e.code}: ` : ''}${e.message}`.slice(0, 500) });
  } finally {
    clearTimeout(timer);
  }
}

interface RawResponse {
  status: number;
  retryAfter?: string;
  location?: string;
  excerpt: string;
}

function post(url: URL, req: AttemptRequest, checked: { address: string; family: 4 | 6 }, setAbort: (f: () => void) => void): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // At the deadline: with a status line in hand, answer with it and whatever body came; without, abort.
    let finishEarly: (() => void) | undefined;
    setAbort(() => (finishEarly ? finishEarly() : r.destroy()));
    const mod = url.protocol === 'https:' ? https : http;
    const body = Buffer.from(req.body);
    const r = mod.request(
      url,
      {
        method: 'POST',
        lookup: pinnedLookup(checked),
        agent: false, // a pooled socket would skip the per-attempt address check
        headers: {
          ...req.headers,
          'content-type': 'application/json',
          'content-length': String(body.length),
          'user-agent': USER_AGENT,
          connection: 'close',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          res.destroy();
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: header(res.headers['retry-after']),
            location: header(res.headers.location),
            // Postgres text cannot hold NUL; a split multi-byte character becomes U+FFFD.
            excerpt: Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8').replace(/\0/g, ''),
          });
        };
        finishEarly = finish;
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          size += c.length;
          if (size >= EXCERPT_BYTES) finish();
        });
        res.on('end', finish);
        res.on('error', finish); // the status is what counts; a body cut short still has one
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
