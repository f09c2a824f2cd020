import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES, type Scope } from '../../src/auth/keys.js';
import { createKey } from '../../src/auth/tenants.js';
import { registry, type RouteSpec } from '../../src/http/route.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

// Every route in the router (the registry defineRoute fills, not a list kept here) is called by
// tenant B with tenant A's ids: each must answer 404 (or, for routes without ids, nothing of A's),
// and with a key that lacks the route's scope: 403. A's state is checked unchanged at the end.

let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let a: ReturnType<typeof client>;
let bKey: string;
const A: Record<string, string> = {};
const model = `secret-${randomBytes(4).toString('hex')}`;
const sig = { columns: ['a', 'b'], task: 'regression' };
// The only routes without a key: health, the API description, and signing in to (and out of, and
// asking about) a dashboard session, which take the key in the body or the session's own cookie.
const OPEN_ROUTES = ['/healthz', '/readyz', '/openapi.json', '/v1/sessions', '/v1/sessions/current', '/v1/sessions/current'];

beforeAll(async () => {
  env = await createTestEnv();
  api = await startInProcessApi(env.config);
  const ka = await createKey(env.pool, 'acme');
  A.keyId = ka.id;
  A.keyPrefix = ka.key.slice(0, 16);
  a = client(api.url, ka.key);
  bKey = (await createKey(env.pool, 'globex')).key;

  const reg = await a.registerModel(model, linearRegression([1, 2], 0), sig);
  expect(reg.status).toBe(201);
  A.modelSha = (await reg.json()).sha256;
  expect((await a.put(`/v1/models/${model}/aliases/production`, { version: 1 })).status).toBe(200);
  const ep = await (await a.postJson('/v1/webhooks', { url: 'http://127.0.0.1:9/acme-hook', events: ['job.cancelled'] })).json();
  A.endpointId = ep.id;
  A.endpointSecret = ep.secret;
  const job = await (await a.postCsv(`/v1/jobs?model=${model}&callback_url=http://127.0.0.1:9/acme-callback`, 'a,b\n1,2\n3,4\n')).json();
  A.jobId = job.id;
  expect((await a.post(`/v1/jobs/${job.id}/cancel`)).status).toBe(200);
  const { rows } = await env.pool.query(`SELECT id FROM webhook_deliveries WHERE job_id = $1 ORDER BY id LIMIT 1`, [job.id]);
  A.deliveryId = rows[0].id;
  A.defaultSecret = (await (await a.get('/v1/webhooks/default-secret')).json()).secret_fingerprint; // the secret itself is shown only when made (docs/webhooks.md)
  A.model = model;
  expect(Object.values(A).every(Boolean)).toBe(true);
});
afterAll(async () => {
  await api?.close();
  await env?.close();
});

/** A's id for each path parameter; an unknown parameter fails the test until it is taught here. */
function fill(route: RouteSpec): string {
  return route.path.replace(/:(\w+)/g, (_m, p: string) => {
    if (p === 'name') return A.model;
    if (p === 'version') return '1';
    if (p === 'alias') return 'production';
    if (p === 'id') {
      const segment = route.path.split('/')[1];
      const ids: Record<string, string> = { jobs: A.jobId, webhooks: A.endpointId, deliveries: A.deliveryId, keys: A.keyId };
      if (!ids[segment]) throw new Error(`isolation test: no id of tenant A for "${route.path}"; add one`);
      return ids[segment];
    }
    throw new Error(`isolation test: unknown path parameter :${p} in ${route.path}; add it to fill()`);
  });
}

/** A valid request body, naming A's things wherever a body can name them. */
function bodyFor(route: RouteSpec): { body?: BodyInit; type?: string } {
  const key = `${route.method} ${route.path}`;
  if (key === 'post /jobs') return { body: 'a,b\n1,2\n', type: 'text/csv' };
  if (key === 'post /models/:name/versions') {
    const form = new FormData();
    form.set('signature', JSON.stringify(sig));
    form.set('model', new Blob([Buffer.from(linearRegression([5, 6], 0))]), 'm.onnx');
    return { body: form };
  }
  const json: Record<string, unknown> = {
    'post /predictions': { model: A.model, inputs: [{ a: 1, b: 2 }] },
    'put /models/:name/aliases/:alias': { version: 1 },
    'post /webhooks': { url: 'http://127.0.0.1:9/globex', events: ['job.completed'] },
    'patch /webhooks/:id': { description: 'taken over', url: 'http://127.0.0.1:9/evil' },
    'post /keys': { scopes: ['jobs:read'] },
  };
  if (route.body) return { body: JSON.stringify(json[key] ?? {}), type: 'application/json' };
  return {};
}

async function call(route: RouteSpec, key: string) {
  const { body, type } = bodyFor(route);
  const query = route.path === '/jobs' && route.method === 'post' ? `?model=${A.model}` : '';
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (type) headers['content-type'] = type;
  const url = `/v1${fill(route)}${query}`;
  const res = await fetch(api.url + url, { method: route.method.toUpperCase(), body, headers });
  const sent = url + (typeof body === 'string' ? body : '');
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    // A live stream never ends: what it sends on opening is what B is shown (tenant scoping of its
    // later events is test/http/events.test.ts's).
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    await reader.cancel();
    return { status: res.status, text: Buffer.from(value ?? new Uint8Array()).toString(), sent };
  }
  return { status: res.status, text: await res.text(), sent };
}

describe('tenant isolation', () => {
  it('the router has routes, and only health, the API description and dashboard sign-in need no key', () => {
    expect(registry.length).toBeGreaterThan(20);
    expect(registry.filter((r) => r.scope === null).map((r) => r.path).sort()).toEqual([...OPEN_ROUTES].sort());
  });

  it("every route, called by another tenant with A's ids, finds nothing of A's", async () => {
    const markers = Object.values(A);
    const failures: string[] = [];
    // Registering a model under A's name creates B's own model of that name: it runs last.
    const routes = registry.filter((r) => r.scope !== null).sort((x, y) => Number(x.path === '/models/:name/versions') - Number(y.path === '/models/:name/versions'));
    for (const route of routes) {
      const { status, text, sent } = await call(route, bKey);
      const label = `${route.method.toUpperCase()} ${route.path} → ${status}`;
      // What B itself sent may be echoed (a 404 names the id asked for); anything else of A's is a leak.
      const leaked = markers.filter((m) => text.includes(m) && !sent.includes(m));
      if (status >= 500) failures.push(`${label}: server error ${text.slice(0, 200)}`);
      if (leaked.length) failures.push(`${label}: response shows A's ${leaked.join(', ')}`);
      if (route.path.includes(':')) {
        if (route.method === 'post' && route.path === '/models/:name/versions') {
          // Registering under the same name makes B's own model: version 1, not A's version 2.
          if (status !== 201 || JSON.parse(text).version !== 1) failures.push(`${label}: expected B's own version 1, got ${text.slice(0, 200)}`);
        } else if (status !== 404) failures.push(`${label}: expected 404`);
      } else if (status !== 404 && (status < 200 || status >= 300)) failures.push(`${label}: expected 404 or B's own data, got ${text.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
  });

  it("A's things are untouched", async () => {
    expect((await (await a.get(`/v1/jobs/${A.jobId}`)).json()).status).toBe('cancelled');
    const ep = await (await a.get(`/v1/webhooks/${A.endpointId}`)).json();
    expect(ep).toMatchObject({ url: 'http://127.0.0.1:9/acme-hook', description: null, status: 'enabled' });
    expect((await (await a.get('/v1/webhooks/default-secret')).json()).secret_fingerprint).toBe(A.defaultSecret);
    const m = await (await a.get(`/v1/models/${A.model}`)).json();
    expect(m).toMatchObject({ latest_version: 1, aliases: { production: 1 } });
    const keys = await (await a.get('/v1/keys')).json();
    expect(keys.data.find((k: { id: string }) => k.id === A.keyId).revoked_at).toBeNull();
    const { rows } = await env.pool.query(`SELECT status, attempt_count FROM webhook_deliveries WHERE id = $1`, [A.deliveryId]);
    expect(rows[0]).toMatchObject({ status: 'pending', attempt_count: 0 });
  });
});

describe('scopes', () => {
  it('every route answers 403 to a key that lacks its scope', async () => {
    const keyWithout = new Map<Scope, string>();
    const failures: string[] = [];
    for (const route of registry.filter((r) => r.scope !== null)) {
      const scope = route.scope!;
      if (!keyWithout.has(scope)) {
        const others = SCOPES.filter((s) => s !== scope && s !== 'admin'); // admin implies every scope
        keyWithout.set(scope, (await createKey(env.pool, 'acme', others)).key);
      }
      const { status, text } = await call(route, keyWithout.get(scope)!);
      if (status !== 403 || JSON.parse(text).code !== 'forbidden') failures.push(`${route.method.toUpperCase()} ${route.path} (${scope}) → ${status} ${text.slice(0, 120)}`);
    }
    expect(failures).toEqual([]);
    expect(keyWithout.size).toBe(SCOPES.length);
  });
});
