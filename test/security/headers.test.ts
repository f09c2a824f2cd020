import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { startApi, type Proc } from '../helpers/processes.js';

// The real api process (src/server.ts) with its JSON logs captured: security headers, request ids
// that join responses to log lines, secrets absent from every log line, and a 500 that says
// nothing internal even when Postgres itself fails.
let env: TestEnv;
let api: Proc & { url: string };
let key: string;
let c: ReturnType<typeof client>;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startApi(env.env);
  key = (await createKey(env.pool, 'acme')).key;
  c = client(api.url, key);
});
afterAll(async () => {
  await api?.stop();
  await env?.close();
});

const INTERNALS = /\bat \S+ \(|\.ts:\d+|node_modules|\/work\/|\bSELECT\b|\bINSERT\b|\bUPDATE\b|relation "|syntax error|ECONN|stack/i;

describe('headers and errors', () => {
  it("helmet's defaults on every response, with and without a key", async () => {
    for (const res of [await fetch(`${api.url}/healthz`), await c.get('/v1/jobs'), await fetch(`${api.url}/v1/jobs`)]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('x-powered-by')).toBeNull();
      expect(res.headers.get('x-request-id')).toMatch(/^[\w-]{8,}$/);
    }
  });

  it('the request id of a response is the one in the log line of that request; a sane given id is kept', async () => {
    const res = await c.get('/v1/jobs/00000000-0000-4000-8000-000000000000');
    const id = res.headers.get('x-request-id')!;
    expect((await res.json()).request_id).toBe(id);
    const mine = () => api.logs.find((l) => (l.req as { id?: string } | undefined)?.id === id);
    await waitFor(() => !!mine());
    expect(mine()).toMatchObject({ req: { method: 'GET', url: '/v1/jobs/00000000-0000-4000-8000-000000000000' }, res: { statusCode: 404 } });
    const given = await c.get('/v1/jobs', { 'x-request-id': 'client-trace-42' });
    expect(given.headers.get('x-request-id')).toBe('client-trace-42');
    const hostile = await c.get('/v1/jobs', { 'x-request-id': '<script>alert(1)</script>' });
    expect(hostile.headers.get('x-request-id')).not.toContain('script');
  });

  it('a failing database gives a 500 that names nothing internal but the request id', async () => {
    // A real fault: the jobs table disappears from under the api.
    await env.pool.query('ALTER TABLE jobs RENAME TO jobs_hidden');
    try {
      const res = await c.get('/v1/jobs');
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(text).not.toMatch(INTERNALS);
      const body = JSON.parse(text);
      expect(body).toMatchObject({ code: 'internal', request_id: res.headers.get('x-request-id') });
      // The log has the detail, tied to the same request id.
      const logged = await api.waitForLog(/request failed/);
      expect(logged.request_id).toBe(body.request_id);
      expect(JSON.stringify(logged)).toMatch(/jobs/);
    } finally {
      await env.pool.query('ALTER TABLE jobs_hidden RENAME TO jobs');
    }
  });

  it('secrets never reach the logs: keys (valid, revoked, malformed), new keys, webhook secrets', async () => {
    const made = await (await c.postJson('/v1/keys', { scopes: ['jobs:read'] })).json();
    const ep = await (await c.postJson('/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['job.completed'] })).json();
    const rotated = await (await c.postJson('/v1/webhooks/default-secret/rotate', {})).json();
    await fetch(`${api.url}/v1/keys/${made.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } });
    await fetch(`${api.url}/v1/jobs`, { headers: { authorization: `Bearer ${made.key}` } }); // revoked → 401
    await fetch(`${api.url}/v1/jobs`, { headers: { authorization: `Bearer ${made.key.slice(0, -1)}x` } }); // malformed
    expect((await c.registerModel('lin', linearRegression([1, 2], 0), { columns: ['a', 'b'], task: 'regression' })).status).toBe(201);
    // A marker request, to know every earlier line has been written.
    const marker = await c.get('/v1/models', { 'x-request-id': 'log-flush-marker' });
    expect(marker.status).toBe(200);
    await waitFor(() => api.logs.some((l) => (l.req as { id?: string } | undefined)?.id === 'log-flush-marker'));
    const all = api.logs.map((l) => JSON.stringify(l)).join('\n');
    expect(all.length).toBeGreaterThan(1000);
    for (const secret of [key, made.key, ep.secret, rotated.secret, key.slice(10, 40)]) expect(all).not.toContain(secret);
    expect(all).not.toMatch(/sluice_sk_[0-9A-Za-z]{20,}/);
    expect(all).not.toMatch(/whsec_[A-Za-z0-9+/=]{10,}/);
  });
});

async function waitFor(cond: () => boolean) {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}
