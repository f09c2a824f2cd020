import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

// Requests per second per key, counted in Redis: two api processes share one budget.
let env: TestEnv;
let api1: Awaited<ReturnType<typeof startInProcessApi>>;
let api2: Awaited<ReturnType<typeof startInProcessApi>>;

beforeAll(async () => {
  env = await createTestEnv({ RATE_LIMIT_PER_SECOND: '5' });
  api1 = await startInProcessApi(env.config);
  api2 = await startInProcessApi(env.config);
});
afterAll(async () => {
  await api1?.close();
  await api2?.close();
  await env?.close();
});

const get = (url: string, key: string) => fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });

describe('rate limits', () => {
  it('over RATE_LIMIT_PER_SECOND: 429 rate_limited with Retry-After; the budget is per key and shared across api processes', async () => {
    const k1 = (await createKey(env.pool, 'acme')).key;
    const k2 = (await createKey(env.pool, 'acme')).key;
    // 4 requests through each of two api processes: 8 > 5 in the same second, for one key.
    const results = await Promise.all([...Array(4)].flatMap(() => [get(api1.url, k1), get(api2.url, k1)]));
    const statuses = results.map((r) => r.status);
    const limited = results.filter((r) => r.status === 429);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(5);
    expect(limited.length).toBeGreaterThanOrEqual(3);
    for (const r of limited) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const body = await r.json();
      expect(body).toMatchObject({ code: 'rate_limited', status: 429 });
      expect(body.detail).toMatch(/RATE_LIMIT_PER_SECOND/);
    }
    // Another key of the same tenant has its own budget.
    expect((await get(api1.url, k2)).status).toBe(200);
    // Health checks carry no key and are not limited.
    expect((await fetch(`${api1.url}/healthz`)).status).toBe(200);
  });
});
