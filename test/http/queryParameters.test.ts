import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { apiForTenant, type ApiForTenant } from '../helpers/api.js';

// A query parameter a route does not take is a 400 naming it, never ignored (a misspelt filter
// would answer with everything); `model` filters the job list by name or name:version.

let t: ApiForTenant;
let c: ApiForTenant['c'];
const sig = { columns: ['a', 'b'], task: 'regression' };
const jobs: Record<string, string> = {};

beforeAll(async () => {
  t = await apiForTenant();
  c = t.c;
  for (const name of ['cars', 'cars', 'trucks']) expect((await c.registerModel(name, linearRegression([1, 2], 0), sig)).status).toBe(201);
  for (const ref of ['cars:1', 'cars:2', 'trucks']) jobs[ref] = (await (await c.postCsv(`/v1/jobs?model=${ref}`, 'a,b\n1,2\n')).json()).id;
});
afterAll(() => t?.close());

describe('query parameters', () => {
  it.each([
    ['GET', '/v1/jobs?modle=cars', 'modle'],
    ['POST', '/v1/jobs?model=cars&source_url=http://x', 'source_url'],
    ['GET', '/v1/models?page=2', 'page'],
  ])('%s %s → 400 unknown_parameter naming %s', async (method, path, name) => {
    const res = method === 'GET' ? await c.get(path) : await c.postCsv(path, 'a,b\n1,2\n');
    expect(res.status).toBe(400);
    const p = await res.json();
    expect(p.code).toBe('unknown_parameter');
    expect(p.unknown).toEqual([name]);
    expect(p.detail).toContain(`"${name}"`);
  });

  it('filters the job list by model name, and by name:version', async () => {
    const ids = async (q: string) => ((await (await c.get(`/v1/jobs?${q}`)).json()).data as { id: string }[]).map((j) => j.id).sort();
    expect(await ids('model=cars')).toEqual([jobs['cars:1'], jobs['cars:2']].sort());
    expect(await ids('model=cars:2')).toEqual([jobs['cars:2']]);
    expect(await ids('model=trucks')).toEqual([jobs.trucks]);
    expect(await ids('model=none')).toEqual([]);
    expect((await ids('')).length).toBe(3);
  });
});
