import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiForTenant, type ApiForTenant } from '../helpers/api.js';

// The dashboard's built files served by the api at / (src/http/staticSite.ts): index.html with the
// strict Content-Security-Policy and no-cache, hashed assets cached for a year, the SPA fallback,
// /v1 left to the API, and a missing build answered with how to make one.

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-3f2a9c1b.js"></script></head><body><div id="app"></div></body></html>\n';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});\n`;
const CSP = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"];

let dist: string;
let t: ApiForTenant;

beforeAll(async () => {
  dist = mkdtempSync(path.join(os.tmpdir(), 'sluice-web-dist-'));
  mkdirSync(path.join(dist, 'assets'));
  writeFileSync(path.join(dist, 'index.html'), INDEX);
  writeFileSync(path.join(dist, 'assets', 'index-3f2a9c1b.js'), SCRIPT);
  writeFileSync(path.join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  t = await apiForTenant({ WEB_DIST_DIR: dist });
});
afterAll(async () => {
  await t?.close();
  rmSync(dist, { recursive: true, force: true });
});

const get = (p: string, headers: Record<string, string> = {}) => fetch(t.api.url + p, { headers });

function expectStrictCsp(res: Response) {
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp.split(';').map((d) => d.trim()).filter(Boolean).sort()).toEqual([...CSP].sort());
  expect(csp).not.toContain('unsafe');
}

describe('the built dashboard', () => {
  it('/ is index.html: no-cache (revalidated by ETag), the strict CSP and helmet\'s headers', async () => {
    const res = await get('/', { accept: 'text/html' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toBe(INDEX);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expectStrictCsp(res);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const etag = res.headers.get('etag');
    expect(etag).toBeTruthy();
    // (fetch adds "Cache-Control: no-cache" to a conditional request unless told otherwise: a browser revalidating sends max-age=0.)
    expect((await get('/', { 'if-none-match': etag!, 'cache-control': 'max-age=0' })).status).toBe(304);
    const head = await fetch(t.api.url + '/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('any other path outside /v1 is the application\'s own route: index.html (SPA fallback)', async () => {
    for (const p of ['/jobs', '/jobs/0b7d3c2e-5f4a-4c1b-9e8d-2a6f1c3b4d5e', '/models/penguins/versions/2', '/sign-in?next=%2Fjobs']) {
      const res = await get(p);
      expect(res.status, p).toBe(200);
      expect(await res.text(), p).toBe(INDEX);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expectStrictCsp(res);
    }
    // A route with a dot in its last segment falls back when a browser navigates to it...
    expect(await (await get('/models/penguins.v2', { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' })).text()).toBe(INDEX);
    // ...but a file that is not there, fetched by a script, is a 404 (not the page in its place).
    const missing = await get('/missing.js');
    expect(missing.status).toBe(404);
    expect((await missing.json()).code).toBe('not_found');
  });

  it('hashed assets: cached for a year as immutable, compressed, the CSP on them too; a missing one is a 404', async () => {
    const res = await get('/assets/index-3f2a9c1b.js', { 'accept-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(await res.text()).toBe(SCRIPT);
    expectStrictCsp(res);
    const gone = await get('/assets/index-00000000.js', { accept: 'text/html' });
    expect(gone.status).toBe(404);
    expect(gone.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await gone.json()).code).toBe('not_found');
    // Other files of the build (names without a hash) are revalidated.
    const icon = await get('/favicon.svg');
    expect(icon.status).toBe(200);
    expect(icon.headers.get('cache-control')).toBe('no-cache');
    // Nothing outside the build folder.
    expect((await get('/assets/..%2F..%2Fpackage.json')).status).toBe(404);
  });

  it('/v1 stays the API: an unknown route is a JSON 404 (401 without a key), never the page', async () => {
    const withKey = await t.c.get('/v1/nope', { accept: 'text/html' });
    expect(withKey.status).toBe(404);
    expect(withKey.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await withKey.json()).code).toBe('not_found');
    for (const p of ['/v1/nope', '/v1', '/v1/']) {
      const res = await get(p, { accept: 'text/html' });
      expect(res.status, p).toBe(401);
      expect(res.headers.get('content-type'), p).toMatch(/^application\/problem\+json/);
    }
    // Other methods than GET/HEAD outside /v1 are not the page either.
    const post = await fetch(t.api.url + '/jobs', { method: 'POST' });
    expect(post.status).toBe(404);
    expect((await post.json()).code).toBe('not_found');
    // The open routes are untouched.
    expect((await get('/healthz')).status).toBe(200);
    expect((await (await get('/openapi.json')).json()).openapi).toBe('3.1.0');
  });
});

describe('without a build', () => {
  let empty: string;
  let u: ApiForTenant;
  beforeAll(async () => {
    empty = path.join(mkdtempSync(path.join(os.tmpdir(), 'sluice-web-none-')), 'dist');
    u = await apiForTenant({ WEB_DIST_DIR: empty });
  });
  afterAll(async () => {
    await u?.close();
    rmSync(path.dirname(empty), { recursive: true, force: true });
  });

  it('/ says the dashboard is not built and how to build it: a 404 page, never a 500, no server path', async () => {
    for (const p of ['/', '/jobs/123']) {
      const res = await fetch(u.api.url + p, { headers: { accept: 'text/html' } });
      expect(res.status, p).toBe(404);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      const text = await res.text();
      expect(text).toMatch(/not built/);
      expect(text).toContain('npm run build:web');
      expect(text).not.toContain(empty);
      expect(text).not.toContain(os.tmpdir());
      expectStrictCsp(res);
    }
    expect((await fetch(u.api.url + '/assets/index-1.js')).status).toBe(404);
  });

  it('a build made while the api runs is served at once, without a restart', async () => {
    mkdirSync(empty, { recursive: true });
    writeFileSync(path.join(empty, 'index.html'), INDEX);
    const res = await fetch(u.api.url + '/');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(INDEX);
  });
});
