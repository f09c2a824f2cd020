import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { expectProblem } from '../helpers/problem.js';

// Every list pages as GET /v1/jobs does: `limit` (default 50, at most 200) and an opaque `cursor`,
// answering { data, next_cursor } (null on the last page). A cursor the api did not give out is a
// 400 validation_failed, never a 500.
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let c: ReturnType<typeof client>;
const sig = { columns: ['a', 'b'], task: 'regression' };

beforeAll(async () => {
  env = await createTestEnv();
  api = await startInProcessApi(env.config);
  c = client(api.url, (await createKey(env.pool, 'lister')).key);
  for (const name of ['cherry', 'apple', 'banana']) expect((await c.registerModel(name, linearRegression([1, 2], 0), sig)).status).toBe(201);
  for (let i = 0; i < 2; i++) expect((await c.registerModel('apple', linearRegression([1, 2], i + 1), sig)).status).toBe(201);
  for (let i = 0; i < 2; i++) await createKey(env.pool, 'lister');
  // Another tenant's models and keys never show.
  const other = client(api.url, (await createKey(env.pool, 'stranger')).key);
  expect((await other.registerModel('aardvark', linearRegression([1, 2], 0), sig)).status).toBe(201);
});
afterAll(async () => {
  await api?.close();
  await env?.close();
});

/** Follows next_cursor from the first page to the last, `limit` at a time. */
async function walk(path: string, limit: number): Promise<{ pages: number[]; items: any[] }> {
  const pages: number[] = [];
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await c.get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { data: any[]; next_cursor: string | null };
    expect(Object.keys(body).sort()).toEqual(['data', 'next_cursor']);
    pages.push(body.data.length);
    items.push(...body.data);
    cursor = body.next_cursor;
  } while (cursor && pages.length < 20);
  return { pages, items };
}

describe('list pagination', () => {
  it('GET /v1/models: by name, limit and cursor', async () => {
    const { pages, items } = await walk('/v1/models', 2);
    expect(pages).toEqual([2, 1]);
    expect(items.map((m) => m.name)).toEqual(['apple', 'banana', 'cherry']);
    expect(items[0]).toMatchObject({ latest_version: 3, versions: 3 });
    const all = await (await c.get('/v1/models')).json();
    expect(all.data).toHaveLength(3);
    expect(all.next_cursor).toBeNull();
  });

  it('GET /v1/models/{name}/versions: oldest first, limit and cursor; 404 for no such model', async () => {
    const { pages, items } = await walk('/v1/models/apple/versions', 2);
    expect(pages).toEqual([2, 1]);
    expect(items.map((v) => v.version)).toEqual([1, 2, 3]);
    expect(items[0]).toMatchObject({ name: 'apple', signature: { columns: ['a', 'b'] } });
    await expectProblem(await c.get('/v1/models/aardvark/versions'), 404, 'model_not_found');
  });

  it('GET /v1/keys: oldest first, limit and cursor', async () => {
    const { pages, items } = await walk('/v1/keys', 2);
    expect(pages).toEqual([2, 1]);
    expect(new Set(items.map((k) => k.id)).size).toBe(3);
    const times = items.map((k) => Date.parse(k.created_at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(items.every((k) => k.object === 'api_key' && !('key' in k))).toBe(true);
  });

  it('limit is bounded (1..200); a forged or foreign cursor is 400 validation_failed, never a 500', async () => {
    const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
    for (const path of ['/v1/models', '/v1/keys', '/v1/models/apple/versions']) {
      await expectProblem(await c.get(`${path}?limit=201`), 400, 'validation_failed');
      await expectProblem(await c.get(`${path}?limit=0`), 400, 'validation_failed');
      for (const forged of ['!!!', b64('not json'), b64({ n: 1 }), b64({ k: '----' }), b64({ v: 'x' }), b64({ t: '2020-01-01T00:00:00Z', id: '----' }), b64([]), b64(null), 'x'.repeat(401)]) {
        const body = await expectProblem(await c.get(`${path}?cursor=${encodeURIComponent(forged)}`), 400, 'validation_failed');
        expect(body.detail).toMatch(/cursor/);
      }
    }
    // Another list's cursor is refused as well.
    const modelsPage = await (await c.get('/v1/models?limit=1')).json();
    await expectProblem(await c.get(`/v1/keys?cursor=${modelsPage.next_cursor}`), 400, 'validation_failed');
  });
});
