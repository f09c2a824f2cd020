import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api.js';
import { generateKey } from '../../src/auth/keys.js';
import type { Sessions } from '../../src/auth/sessions.js';
import { createKey } from '../../src/auth/tenants.js';
import type { Config } from '../../src/config.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

// Dashboard sessions (docs/security.md, "Dashboard sessions"): an API key exchanged for an HttpOnly
// cookie that every /v1 route accepts, writes guarded by X-CSRF-Token, sign-out, revocation and
// expiry. The api runs in this process so the test can move the sessions' clock.

interface Api {
  url: string;
  sessions: Sessions;
  close(): Promise<void>;
}

async function startApi(config: Config): Promise<Api> {
  const api = await buildApi(config);
  await api.lookups.start();
  const server: Server = await new Promise((resolve) => {
    const s = api.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sessions: api.app.locals.sessions as Sessions,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await api.close();
    },
  };
}

const MINUTE = 60_000;

let env: TestEnv;
let api: Api;
let clock: number;
let full: { key: string; id: string; tenantId: string };

beforeAll(async () => {
  env = await createTestEnv();
  api = await startApi(env.config);
  clock = Date.now();
  api.sessions.now = () => clock;
  full = await createKey(env.pool, 'acme');
  // A model for the writes below (registered with the key itself).
  const form = new FormData();
  form.set('signature', JSON.stringify({ columns: ['a', 'b'], task: 'regression' }));
  form.set('model', new Blob([Buffer.from(linearRegression([1, 2], 0))]), 'm.onnx');
  const reg = await fetch(`${api.url}/v1/models/lin/versions`, { method: 'POST', body: form, headers: { authorization: `Bearer ${full.key}` } });
  expect(reg.status).toBe(201);
});
afterAll(async () => {
  await api?.close();
  await env?.close();
});

async function signIn(key: string, url = api.url, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ key }) });
  const setCookie = res.headers.getSetCookie();
  const body = await res.json();
  const cookie = /^sluice_session=([^;]*)/.exec(setCookie[0] ?? '')?.[1];
  return { res, body, setCookie, cookie: cookie ? `sluice_session=${cookie}` : '' };
}

const withCookie = (cookie: string, path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
  fetch(api.url + path, { ...init, headers: { cookie, ...init.headers } });

const submitCsv = (cookie: string, headers: Record<string, string> = {}) =>
  withCookie(cookie, '/v1/jobs?model=lin', { method: 'POST', body: 'a,b\n1,2\n', headers: { 'content-type': 'text/csv', ...headers } });

describe('signing in', () => {
  it('answers the session and sets an HttpOnly, SameSite=Strict cookie on /, holding neither the key nor anything stored', async () => {
    const { res, body, setCookie, cookie } = await signIn(full.key);
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(body).toEqual({
      object: 'session', tenant: 'acme', scopes: ['jobs:write', 'jobs:read', 'models:write', 'models:read', 'webhooks:write', 'admin'],
      key_prefix: full.key.slice(0, 16), expires_at: new Date(clock + 12 * 60 * MINUTE).toISOString(), idle_timeout_seconds: 1800, csrf_token: expect.stringMatching(/^[\w-]{43}$/),
    });
    expect(setCookie).toHaveLength(1);
    const attrs = setCookie[0].split(';').map((s) => s.trim());
    expect(attrs).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/', `Max-Age=${12 * 3600}`]));
    expect(attrs).not.toContain('Secure'); // plain http, no trusted proxy
    const token = cookie.split('=')[1];
    expect(token).toMatch(/^[\w-]{43}$/);
    const everything = JSON.stringify(body) + setCookie.join();
    expect(everything).not.toContain(full.key);
    expect(everything).not.toContain(full.key.slice(16));
    // Postgres has the token's digest, never the token or the key.
    const { rows } = await env.pool.query(`SELECT * FROM dashboard_sessions WHERE key_id = $1`, [full.id]);
    expect(rows.length).toBeGreaterThan(0);
    const stored = JSON.stringify(rows.map((r) => ({ ...r, digest: r.digest.toString('hex') })));
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(Buffer.from(token).toString('hex'));
    // The sign-in is in the audit log.
    const audit = await env.pool.query(`SELECT actor, action FROM audit_log WHERE action = 'session.created' AND actor = $1`, [full.id]);
    expect(audit.rows.length).toBeGreaterThan(0);
  });

  it('a bad, malformed or revoked key: 401 unauthorized, no cookie, the key not echoed', async () => {
    const revoked = await createKey(env.pool, 'acme', ['jobs:read']);
    await env.pool.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [revoked.id]);
    const wrong = full.key.slice(0, -7) + (full.key.at(-7) === 'A' ? 'B' : 'A') + full.key.slice(-6); // checksum no longer matches
    const unknown = generateKey().key; // well formed, never stored
    for (const key of [wrong, 'sluice_sk_nope', unknown, revoked.key]) {
      const { res, body, setCookie } = await signIn(key);
      expect(res.status, key).toBe(401);
      expect(body.code).toBe('unauthorized');
      expect(setCookie).toEqual([]);
      expect(JSON.stringify(body)).not.toContain(key);
    }
  });

  it('takes the key only as JSON (no form of another site can sign a visitor in)', async () => {
    const res = await fetch(`${api.url}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `key=${full.key}` });
    expect(res.status).toBe(415);
    expect((await res.json()).code).toBe('unsupported_media_type');
    expect(res.headers.getSetCookie()).toEqual([]);
  });
});

describe('requests with the cookie', () => {
  it('reads with the cookie alone; the current session is the same, csrf_token included', async () => {
    const { body, cookie } = await signIn(full.key);
    const current = await withCookie(cookie, '/v1/sessions/current');
    expect(current.status).toBe(200);
    expect(await current.json()).toEqual(body);
    const jobs = await withCookie(cookie, '/v1/jobs');
    expect(jobs.status).toBe(200);
    expect((await jobs.json()).data).toBeInstanceOf(Array);
    // Without a cookie or a key: 401, as before.
    expect((await fetch(`${api.url}/v1/jobs`)).status).toBe(401);
    expect((await fetch(`${api.url}/v1/sessions/current`)).status).toBe(401);
  });

  it('a write needs X-CSRF-Token equal to the session\'s: without it or with another 403 csrf_failed, with it done', async () => {
    const { body, cookie } = await signIn(full.key);
    const other = await signIn(full.key);
    for (const headers of [{}, { 'x-csrf-token': other.body.csrf_token }, { 'x-csrf-token': '' }] as Record<string, string>[]) {
      const res = await submitCsv(cookie, headers);
      expect(res.status).toBe(403);
      expect((await res.json()).code).toBe('csrf_failed');
    }
    // Nothing was made by the refused writes.
    const before = await env.pool.query(`SELECT count(*)::int AS n FROM jobs`);
    const ok = await submitCsv(cookie, { 'x-csrf-token': body.csrf_token });
    expect(ok.status).toBe(202);
    const after = await env.pool.query(`SELECT count(*)::int AS n FROM jobs`);
    expect(after.rows[0].n).toBe(before.rows[0].n + 1);
    // Multipart (a model upload) and JSON writes alike.
    const form = new FormData();
    form.set('signature', JSON.stringify({ columns: ['a', 'b'], task: 'regression' }));
    form.set('model', new Blob([Buffer.from(linearRegression([3, 4], 0))]), 'm.onnx');
    expect((await withCookie(cookie, '/v1/models/lin/versions', { method: 'POST', body: form })).status).toBe(403);
    expect((await withCookie(cookie, '/v1/models/lin/versions', { method: 'POST', body: form, headers: { 'x-csrf-token': body.csrf_token } })).status).toBe(201);
    const put = (headers: Record<string, string>) => withCookie(cookie, '/v1/models/lin/aliases/production', { method: 'PUT', body: JSON.stringify({ version: 1 }), headers: { 'content-type': 'application/json', ...headers } });
    expect((await put({})).status).toBe(403);
    expect((await put({ 'x-csrf-token': body.csrf_token })).status).toBe(200);
  });

  it('a bearer key beside the cookie decides alone (no CSRF header needed: a browser never adds one by itself)', async () => {
    const { cookie } = await signIn(full.key);
    const res = await submitCsv(cookie, { authorization: `Bearer ${full.key}` });
    expect(res.status).toBe(202);
    // And a bad bearer key is not rescued by a good cookie.
    expect((await withCookie(cookie, '/v1/jobs', { headers: { authorization: 'Bearer sluice_sk_nope' } })).status).toBe(401);
  });

  it("carries the key's scopes: a read-only key's session reads but cannot write (403 forbidden)", async () => {
    const readOnly = await createKey(env.pool, 'acme', ['jobs:read', 'models:read']);
    const { body, cookie } = await signIn(readOnly.key);
    expect(body.scopes).toEqual(['jobs:read', 'models:read']);
    expect((await withCookie(cookie, '/v1/models')).status).toBe(200);
    const res = await submitCsv(cookie, { 'x-csrf-token': body.csrf_token });
    expect(res.status).toBe(403);
    expect((await res.json()).code).toBe('forbidden');
    // Re-scoping the key applies to its session at the next request.
    await env.pool.query(`UPDATE api_keys SET scopes = '{jobs:read,jobs:write,models:read}' WHERE id = $1`, [readOnly.id]);
    expect((await submitCsv(cookie, { 'x-csrf-token': body.csrf_token })).status).toBe(202);
    expect((await (await withCookie(cookie, '/v1/sessions/current')).json()).scopes).toEqual(['jobs:read', 'jobs:write', 'models:read']);
  });

  it('event streams take the cookie (EventSource cannot send headers)', async () => {
    const { cookie } = await signIn(full.key);
    const abort = new AbortController();
    const res = await withCookie(cookie, '/v1/events', { signal: abort.signal, headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    abort.abort();
    await res.body?.cancel().catch(() => {});
  });
});

describe('ending sessions', () => {
  it('sign-out needs the CSRF header, clears the cookie and the session never works again', async () => {
    const { body, cookie } = await signIn(full.key);
    const refused = await withCookie(cookie, '/v1/sessions/current', { method: 'DELETE' });
    expect(refused.status).toBe(403);
    expect((await refused.json()).code).toBe('csrf_failed');
    expect((await withCookie(cookie, '/v1/jobs')).status).toBe(200);

    const out = await withCookie(cookie, '/v1/sessions/current', { method: 'DELETE', headers: { 'x-csrf-token': body.csrf_token } });
    expect(out.status).toBe(204);
    const cleared = out.headers.getSetCookie();
    expect(cleared).toHaveLength(1);
    expect(cleared[0]).toMatch(/^sluice_session=;/);
    expect(cleared[0]).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect(cleared[0]).toMatch(/HttpOnly/);

    for (const path of ['/v1/jobs', '/v1/sessions/current']) {
      const res = await withCookie(cookie, path);
      expect(res.status, path).toBe(401);
      expect((await res.json()).code).toBe('unauthorized');
      expect(res.headers.getSetCookie()[0]).toMatch(/^sluice_session=;/); // the dead cookie is cleared
    }
    expect((await submitCsv(cookie, { 'x-csrf-token': body.csrf_token })).status).toBe(401);
    const audit = await env.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'session.ended' AND actor = $1`, [full.id]);
    expect(audit.rows[0].n).toBeGreaterThan(0);
  });

  it("revoking the key ends its sessions at once, however it is revoked (API or straight in Postgres)", async () => {
    const admin = await createKey(env.pool, 'acme', ['admin']);
    for (const how of ['api', 'sql'] as const) {
      const k = await createKey(env.pool, 'acme', ['jobs:read']);
      const { cookie } = await signIn(k.key);
      expect((await withCookie(cookie, '/v1/jobs')).status).toBe(200);
      if (how === 'api') expect((await fetch(`${api.url}/v1/keys/${k.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin.key}` } })).status).toBe(200);
      else await env.pool.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [k.id]);
      expect((await withCookie(cookie, '/v1/jobs')).status, how).toBe(401);
      expect((await withCookie(cookie, '/v1/sessions/current')).status, how).toBe(401);
    }
  });

  it('idle expiry slides with every use; past SESSION_IDLE_MINUTES without a request the session is over', async () => {
    const { cookie } = await signIn(full.key);
    const start = clock;
    try {
      // Used every 29 minutes: alive long past 30 minutes after sign-in.
      for (let i = 1; i <= 4; i++) {
        clock = start + i * 29 * MINUTE;
        expect((await withCookie(cookie, '/v1/jobs')).status, `after ${i * 29} min`).toBe(200);
      }
      // Then 30 minutes without a request.
      clock += 30 * MINUTE;
      expect((await withCookie(cookie, '/v1/jobs')).status).toBe(401);
      // Expired means gone: moving the clock back does not revive it.
      clock = start;
      expect((await withCookie(cookie, '/v1/jobs')).status).toBe(401);
    } finally {
      clock = start;
    }
  });

  it('the absolute expiry (SESSION_MAX_HOURS) ends even a session in constant use', async () => {
    const { cookie } = await signIn(full.key);
    const start = clock;
    try {
      for (let m = 20; m < 12 * 60; m += 20) {
        clock = start + m * MINUTE;
        expect((await withCookie(cookie, '/v1/sessions/current')).status, `after ${m} min`).toBe(200);
      }
      clock = start + 12 * 60 * MINUTE;
      expect((await withCookie(cookie, '/v1/sessions/current')).status).toBe(401);
    } finally {
      clock = start;
    }
  });

  it('a cookie that is not a token is refused without a lookup, never a 500', async () => {
    for (const value of ['', 'x', '"quoted"', 'a'.repeat(5000), '%00%ff', 'A'.repeat(43)]) {
      const res = await withCookie(`sluice_session=${value}`, '/v1/jobs');
      expect(res.status, value.slice(0, 20)).toBe(401);
    }
  });
});

describe('behind a trusted proxy', () => {
  let env2: TestEnv;
  let api2: Api;
  let key: string;
  beforeAll(async () => {
    env2 = await createTestEnv({ TRUST_PROXY: 'loopback' });
    api2 = await startApi(env2.config);
    key = (await createKey(env2.pool, 'acme', ['jobs:read'])).key;
  });
  afterAll(async () => {
    await api2?.close();
    await env2?.close();
  });

  it('the cookie is Secure when the proxy says the request came over https, and only when the proxy is trusted', async () => {
    const https = { 'x-forwarded-proto': 'https' };
    expect((await signIn(key, api2.url, https)).setCookie[0].split(';').map((s) => s.trim())).toContain('Secure');
    expect((await signIn(key, api2.url)).setCookie[0]).not.toMatch(/Secure/);
    // The same header to an api that trusts no proxy (the default) is ignored.
    expect((await signIn(full.key, api.url, https)).setCookie[0]).not.toMatch(/Secure/);
  });

  it('failed sign-ins are limited per client address: 429 with Retry-After, other addresses unaffected', async () => {
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    for (let i = 0; i < 10; i++) expect((await signIn('sluice_sk_wrong', api2.url, from('203.0.113.9'))).res.status).toBe(401);
    const limited = await signIn(key, api2.url, from('203.0.113.9')); // even the right key, while limited
    expect(limited.res.status).toBe(429);
    expect(limited.body.code).toBe('rate_limited');
    expect(Number(limited.res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await signIn(key, api2.url, from('203.0.113.10'))).res.status).toBe(201);
  });
});
