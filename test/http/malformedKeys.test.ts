import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

// A malformed key is a 401 whatever its bytes: a non-ASCII character in the checksum part used to
// throw inside the constant-time comparison (its UTF-8 bytes outnumber its characters): a 500.

let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let good: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startInProcessApi(env.config);
  good = (await createKey(env.pool, 'acme')).key;
});
afterAll(async () => {
  await api?.close();
  await env?.close();
});

it.each([
  ['a non-ASCII checksum', () => good.slice(0, -1) + 'é'],
  ['a non-ASCII body', () => 'é' + good.slice(1)],
  ['a Latin-1 byte in the prefix', () => good.replace('_', '\u00ff')],
])('%s → 401 unauthorized', async (_what, make) => {
  const res = await fetch(`${api.url}/v1/jobs`, { headers: { authorization: `Bearer ${make()}` } });
  expect(res.status).toBe(401);
  expect((await res.json()).code).toBe('unauthorized');
});
