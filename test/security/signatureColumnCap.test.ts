import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { expectProblem } from '../helpers/problem.js';

// A signature wider than MAX_COLUMNS could never be used (uploads are capped there), so it is
// refused when the model is registered rather than accepted and failing every job.
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let c: ReturnType<typeof client>;
const cols = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);

beforeAll(async () => {
  env = await createTestEnv({ MAX_COLUMNS: '10' });
  api = await startInProcessApi(env.config);
  c = client(api.url, (await createKey(env.pool, 'wide-co')).key);
});
afterAll(async () => {
  await api?.close();
  await env?.close();
});

it('a signature naming more columns than MAX_COLUMNS → 422 invalid_signature naming the limit', async () => {
  const body = await expectProblem(await c.registerModel('wide', linearRegression(Array(11).fill(1), 0), { columns: cols(11), task: 'regression' }), 422, 'invalid_signature');
  expect(body.detail).toMatch(/MAX_COLUMNS/);
  expect(body.detail).toMatch(/\b10\b/);
  expect(body.max_columns).toBe(10);
});

it('passthrough columns count too: the header must hold them all', async () => {
  const sig = { columns: cols(9), passthrough: ['id', 'name'], task: 'regression' };
  expect((await expectProblem(await c.registerModel('wide', linearRegression(Array(9).fill(1), 0), sig), 422, 'invalid_signature')).detail).toMatch(/MAX_COLUMNS/);
});

it('exactly MAX_COLUMNS is fine', async () => {
  expect((await c.registerModel('ten', linearRegression(Array(10).fill(1), 0), { columns: cols(10), task: 'regression' })).status).toBe(201);
  expect((await c.registerModel('ten', linearRegression(Array(9).fill(1), 0), { columns: cols(9), passthrough: ['c0'], task: 'regression' })).status).toBe(201);
});
