import createClient, { type Client } from 'openapi-fetch';
import { ApiError, errorFromResponse } from './errors.js';
import { withRetries, type RetryOptions } from './retry.js';
import type { paths } from './types.js';

// The one place requests leave the client: the typed openapi-fetch client for JSON routes, and
// `request` for the bodies openapi-fetch does not stream (uploads, SSE, result downloads). Both
// add the key and go through the same retry policy (retry.ts) and error classes (errors.ts).

export interface ClientOptions extends RetryOptions {
  /** Where the api listens, e.g. http://localhost:8080 (no /v1). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
  userAgent?: string;
}

export interface RequestOptions extends Omit<RequestInit, 'headers'> {
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined | null>;
  /** Whether the request may be replayed after a failure that might have reached the server. */
  idempotent?: boolean;
  /** Makes the body anew for each attempt (a stream cannot be sent twice). */
  body?: BodyInit | null;
  makeBody?: () => BodyInit;
}

export class Transport {
  readonly api: Client<paths>;
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.api = createClient<paths>({
      baseUrl: this.baseUrl,
      headers: this.headers(),
      fetch: (req: Request) =>
        withRetries(this.baseUrl, { ...this.options, idempotent: req.method !== 'POST' && req.method !== 'PATCH', signal: req.signal }, () => this.fetchImpl(req.clone())),
    });
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
      'user-agent': this.options.userAgent ?? 'sluice-client',
      ...extra,
    };
  }

  url(path: string, query: RequestOptions['query'] = {}): string {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** A request outside the typed client; resolves with a 2xx response, else throws its ApiError. */
  async request(path: string, opts: RequestOptions = {}): Promise<Response> {
    const { headers, query, idempotent, makeBody, ...init } = opts;
    const method = (init.method ?? 'GET').toUpperCase();
    const url = this.url(path, query);
    const res = await withRetries(this.baseUrl, { ...this.options, idempotent: idempotent ?? (method !== 'POST' && method !== 'PATCH'), signal: init.signal }, () => {
      const body = makeBody ? makeBody() : init.body;
      // A stream body needs duplex 'half' (Node's fetch sends it as it is read).
      const streamed = body instanceof ReadableStream;
      return this.fetchImpl(url, { ...init, method, body, headers: this.headers(headers), ...(streamed ? { duplex: 'half' } : {}) } as RequestInit);
    });
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }
}

/** The data of an openapi-fetch call, or its ApiError. */
export async function unwrap<D>(call: Promise<{ data?: D; error?: unknown; response: Response }>): Promise<D> {
  const { data, error, response } = await call;
  if (!response.ok) throw ApiError.from(response.status, error, response.headers);
  return data as D;
}
