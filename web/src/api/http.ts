import createClient, { type Middleware } from 'openapi-fetch';
import { ApiError } from '@client/errors';
import type { paths } from '@client/types';

// The one place the dashboard's requests leave the browser: openapi-fetch typed by the paths the
// typed client generated from /openapi.json (src/client/generated), on this origin, authenticated
// by the HttpOnly session cookie the browser sends by itself. What a page script holds is the
// session's CSRF token, in this module's memory only (never storage, never a URL): every write
// carries it as X-CSRF-Token. After a reload GET /v1/sessions/current gives it again.

let csrfToken: string | null = null;
const unauthorizedListeners = new Set<() => void>();

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Headers every write sent outside openapi-fetch (XMLHttpRequest uploads) must carry too. */
export function writeHeaders(): Record<string, string> {
  return csrfToken ? { 'X-CSRF-Token': csrfToken } : {};
}

/** Told when a request answers 401: the session ended (idle, signed out elsewhere, key revoked). */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function notifyUnauthorized(): void {
  for (const l of unauthorizedListeners) l();
}

const session: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD' && csrfToken) request.headers.set('X-CSRF-Token', csrfToken);
    return request;
  },
  onResponse({ request, response }) {
    // Signing in with a wrong key is a 401 too, but not the end of a session.
    if (response.status === 401 && !request.url.endsWith('/v1/sessions')) notifyUnauthorized();
    return response;
  },
};

export const http = createClient<paths>({ baseUrl: typeof location === 'undefined' ? '' : location.origin, credentials: 'same-origin' });
http.use(session);

/** The data of an openapi-fetch call, or the client's ApiError for its problem (one class per status). */
export async function unwrap<D>(call: Promise<{ data?: D; error?: unknown; response: Response }>): Promise<D> {
  const { data, error, response } = await call;
  if (!response.ok) throw ApiError.from(response.status, error, response.headers);
  return data as D;
}

/** What a person reads when a call fails: the problem's detail, which the API writes to be acted on. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof TypeError) return 'The Sluice api could not be reached; check the connection and try again.';
  return err instanceof Error ? err.message : String(err);
}
