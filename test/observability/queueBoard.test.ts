import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { QUEUE_BOARD_CSP } from '../../src/http/queueBoard.js';
import { CHUNK_JOB } from '../../src/queue/chunkJobs.js';
import { QUEUES } from '../../src/queue/queues.js';
import { apiForTenant, type ApiForTenant } from '../helpers/api.js';
import { launchChromium } from '../web/helpers/browser.js';

// The queue UI (bull-board at /admin/queues, src/http/queueBoard.ts) on a real api: who may open
// it (401 without a key, 403 without the admin scope or outside QUEUE_BOARD_TENANTS, problem+json
// both), what it lists, that it is read-only unless QUEUE_BOARD_WRITE=true, how a cookie session
// may act, and that its page runs in Chromium under its CSP without a single refusal.

const BOARD = '/admin/queues';
let ro: ApiForTenant;
let closed: ApiForTenant;
let rw: ApiForTenant;
let adminKey: string;
let readKey: string;
let rwAdminKey: string;
let otherTenantAdminKey: string;
const redis: Redis[] = [];
const queues: Queue[] = [];
let roPredict: Queue;
let rwPredict: Queue;
let roJobId: string;

/** The api's predict queue, seen from the test (same Redis, same prefix), with one waiting chunk job. */
async function predictQueue(t: ApiForTenant): Promise<{ queue: Queue; jobId: string }> {
  const connection = new Redis(t.env.config.redisUrl, { maxRetriesPerRequest: null });
  redis.push(connection);
  const queue = new Queue(QUEUES.predict, { connection, prefix: t.env.config.redisPrefix });
  queues.push(queue);
  const ref = { jobId: randomUUID(), seq: 0 };
  await queue.add(CHUNK_JOB, ref, { jobId: `${ref.jobId}_0` });
  return { queue, jobId: `${ref.jobId}_0` };
}

async function signIn(t: ApiForTenant, key: string): Promise<string> {
  const res = await fetch(`${t.api.url}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
  expect(res.status).toBe(201);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sluice_session='));
  expect(cookie).toBeDefined();
  return cookie!.split(';')[0];
}

const get = (t: ApiForTenant, path: string, headers: Record<string, string> = {}) => fetch(`${t.api.url}${BOARD}${path}`, { headers });
const put = (t: ApiForTenant, path: string, headers: Record<string, string> = {}) => fetch(`${t.api.url}${BOARD}${path}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function expectProblem(res: Response, status: number, code: string) {
  expect(res.status, await res.clone().text()).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect((await res.json()).code).toBe(code);
}

beforeAll(async () => {
  [ro, rw, closed] = await Promise.all([apiForTenant({ QUEUE_BOARD_TENANTS: 'acme' }), apiForTenant({ QUEUE_BOARD_WRITE: 'true', QUEUE_BOARD_TENANTS: 'acme' }), apiForTenant()]);
  adminKey = (await createKey(ro.env.pool, 'acme', ['admin'])).key;
  readKey = (await createKey(ro.env.pool, 'acme', ['jobs:read', 'jobs:write', 'models:read'])).key;
  rwAdminKey = (await createKey(rw.env.pool, 'acme', ['admin'])).key;
  otherTenantAdminKey = (await createKey(rw.env.pool, 'globex', ['admin'])).key;
  ({ queue: roPredict, jobId: roJobId } = await predictQueue(ro));
  ({ queue: rwPredict } = await predictQueue(rw));
});

afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  for (const r of redis) r.disconnect();
  await Promise.all([ro?.close(), rw?.close(), closed?.close()]);
});

describe('who may open the queue UI', () => {
  it('no key: 401 problem+json, for the page and its API alike', async () => {
    for (const p of ['', '/', '/api/queues', '/static/images/logo.svg']) {
      const res = await get(ro, p);
      await expectProblem(res, 401, 'unauthorized');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    await expectProblem(await get(ro, '/api/queues', bearer('sluice_sk_not-a-key')), 401, 'unauthorized');
  });

  it('a key without the admin scope: 403 problem+json', async () => {
    await expectProblem(await get(ro, '/api/queues', bearer(readKey)), 403, 'forbidden');
    await expectProblem(await get(ro, '', bearer(readKey)), 403, 'forbidden');
  });

  it('with no QUEUE_BOARD_TENANTS, closed to every admin key: 403 naming the setting', async () => {
    const key = (await createKey(closed.env.pool, 'acme', ['admin'])).key;
    const res = await get(closed, '/api/queues', bearer(key));
    expect((await res.clone().json()).detail).toContain('QUEUE_BOARD_TENANTS');
    await expectProblem(res, 403, 'forbidden');
  });

  it('with QUEUE_BOARD_TENANTS, an admin key of another tenant: 403', async () => {
    await expectProblem(await get(rw, '/api/queues', bearer(otherTenantAdminKey)), 403, 'forbidden');
    expect((await get(rw, '/api/queues', bearer(rwAdminKey))).status).toBe(200);
  });

  it('a dashboard session of an admin key opens it; one of a key without admin does not; an ended session is 401', async () => {
    const cookie = await signIn(ro, adminKey);
    expect((await get(ro, '/api/queues', { cookie })).status).toBe(200);
    await expectProblem(await get(ro, '/api/queues', { cookie: await signIn(ro, readKey) }), 403, 'forbidden');
    await expectProblem(await get(ro, '/api/queues', { cookie: 'sluice_session=not-a-session' }), 401, 'unauthorized');
  });
});

describe('read-only by default', () => {
  it('lists the three queues, read-only, with the waiting chunk job', async () => {
    const res = await get(ro, '/api/queues', bearer(adminKey));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff'); // helmet's headers, as on every response
    const body = (await res.json()) as { queues: { name: string; readOnlyMode: boolean; allowRetries: boolean; counts: Record<string, number> }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual(['predict', 'predict-interactive', 'webhooks']);
    for (const q of body.queues) expect(q).toMatchObject({ readOnlyMode: true, allowRetries: false });
    expect(body.queues.find((q) => q.name === 'predict')!.counts.waiting).toBe(1);
    const job = await get(ro, `/api/queues/predict/${roJobId}`, bearer(adminKey));
    expect(job.status).toBe(200);
    expect((await job.json()).job).toMatchObject({ id: roJobId, name: CHUNK_JOB });
  });

  it('refuses every write (405, Allow: GET, HEAD), by key or by session, and nothing changes', async () => {
    const cookie = await signIn(ro, adminKey);
    for (const [path, headers] of [
      ['/api/queues/predict/pause', bearer(adminKey)],
      ['/api/queues/pause', bearer(adminKey)],
      ['/api/queues/predict/clean/waiting', bearer(adminKey)],
      [`/api/queues/predict/${roJobId}/promote`, bearer(adminKey)],
      ['/api/queues/predict/empty', { cookie, 'sec-fetch-site': 'same-origin' }],
    ] as const) {
      const res = await put(ro, path, headers);
      await expectProblem(res, 405, 'method_not_allowed');
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
    expect(await roPredict.isPaused()).toBe(false);
    expect(await roPredict.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });
});

describe('with QUEUE_BOARD_WRITE=true', () => {
  it('an admin key can act (pause, resume); adding a job, obliterating a queue or setting its concurrency stays refused', async () => {
    expect((await put(rw, '/api/queues/predict/pause', bearer(rwAdminKey))).status).toBe(200);
    expect(await rwPredict.isPaused()).toBe(true);
    expect((await put(rw, '/api/queues/predict/resume', bearer(rwAdminKey))).status).toBe(200);
    expect(await rwPredict.isPaused()).toBe(false);
    for (const path of ['/api/queues/predict/add', '/api/queues/predict/add/', '/API/Queues/predict/ADD']) {
      const add = await fetch(`${rw.api.url}${BOARD}${path}`, { method: 'POST', headers: { ...bearer(rwAdminKey), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'chunk', data: {} }) });
      await expectProblem(add, 405, 'method_not_allowed');
    }
    for (const path of ['/api/queues/predict/obliterate', '/api/queues/predict/obliterate/', '/api/queues/predict/concurrency']) {
      await expectProblem(await put(rw, path, bearer(rwAdminKey)), 405, 'method_not_allowed');
    }
    expect(await rwPredict.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('a session may act only from the board\'s own origin (the page cannot send X-CSRF-Token)', async () => {
    const cookie = await signIn(rw, rwAdminKey);
    await expectProblem(await put(rw, '/api/queues/predict/pause', { cookie }), 403, 'csrf_failed');
    await expectProblem(await put(rw, '/api/queues/predict/pause', { cookie, 'sec-fetch-site': 'same-site' }), 403, 'csrf_failed');
    await expectProblem(await put(rw, '/api/queues/predict/pause', { cookie, origin: 'http://evil.example' }), 403, 'csrf_failed');
    expect(await rwPredict.isPaused()).toBe(false);
    expect((await put(rw, '/api/queues/predict/pause', { cookie, origin: rw.api.url })).status).toBe(200);
    expect((await put(rw, '/api/queues/predict/resume', { cookie, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    expect(await rwPredict.isPaused()).toBe(false);
  });
});

describe('the page under its Content-Security-Policy', () => {
  let browser: Browser;
  afterAll(async () => {
    await browser?.close();
  });

  it('is served with the app\'s policy but base-uri \'self\', nothing inline, and its assets load', async () => {
    const res = await get(ro, '', bearer(adminKey));
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toBe(QUEUE_BOARD_CSP);
    expect(csp).toContain("base-uri 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("style-src 'self' 'sha256-"); // the Redis logo's stylesheet, by its hash
    expect(csp).not.toContain('unsafe');
    // Everywhere else the app's own policy is unchanged.
    expect((await fetch(`${ro.api.url}/healthz`)).headers.get('content-security-policy')).toContain("base-uri 'none'");
    const html = await res.text();
    expect(html).toContain(`<base href="${BOARD}/" />`);
    expect(html).not.toMatch(/ style="|<style|googleapis/);
    const assets = [...html.matchAll(/(?:src|href)="(static\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const a of assets) expect((await get(ro, `/${a}`, bearer(adminKey))).status, a).toBe(200);
  });

  it('runs in Chromium with no console error or CSP refusal, lists the queues and opens a job; a same-origin action works with writes on', async () => {
    browser = await launchChromium();
    const errors: string[] = [];
    for (const [t, key, host] of [[ro, adminKey, 'ro'], [rw, rwAdminKey, 'rw']] as const) {
      const context = await browser.newContext();
      const { hostname } = new URL(t.api.url);
      const [name, value] = (await signIn(t, key)).split('=');
      await context.addCookies([{ name, value, domain: hostname, path: '/', httpOnly: true, sameSite: 'Strict' }]);
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || /Content.Security.Policy|Refused/i.test(m.text())) errors.push(`${host} console: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`${host} page error: ${e.message}`));
      // ERR_ABORTED: a poll still in flight when the test navigates away, cancelled by the page itself.
      page.on('requestfailed', (r) => r.failure()?.errorText !== 'net::ERR_ABORTED' && errors.push(`${host} request failed: ${r.url()} ${r.failure()?.errorText}`));
      await page.goto(`${t.api.url}${BOARD}`);
      for (const q of ['predict', 'predict-interactive', 'webhooks']) await page.getByText(q, { exact: true }).first().waitFor({ timeout: 20_000 });
      if (t === ro) {
        await page.goto(`${t.api.url}${BOARD}/queue/predict/${roJobId}`);
        await page.getByText(roJobId).first().waitFor({ timeout: 20_000 });
      } else {
        // What the board's buttons do: a fetch from the page, with the cookie and the browser's Sec-Fetch-Site.
        const status = await page.evaluate(async () => (await fetch('api/queues/predict/pause', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' })).status);
        expect(status).toBe(200);
        expect(await rwPredict.isPaused()).toBe(true);
        await rwPredict.resume();
      }
      await context.close();
    }
    expect(errors).toEqual([]);
  }, 90_000);
});
