import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { expectProblem } from '../helpers/problem.js';

// Keys per tenant are capped (MAX_KEYS_PER_TENANT): per-key budgets cannot be multiplied without end,
// and a looping script cannot fill the table. Revoked keys do not count.
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;

beforeAll(async () => {
  env = await createTestEnv({ MAX_KEYS_PER_TENANT: '3' });
  api = await startInProcessApi(env.config);
});
afterAll(async () => {
  await api?.close();
  await env?.close();
});

describe('keys per tenant', () => {
  it('POST /v1/keys past MAX_KEYS_PER_TENANT → 409 key_limit_reached; revoking one makes room; other tenants are unaffected', async () => {
    const { key } = await createKey(env.pool, 'keyful');
    const admin = client(api.url, key);
    const made: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await admin.postJson('/v1/keys', { scopes: ['jobs:read'] });
      expect(res.status).toBe(201);
      made.push((await res.json()).id);
    }
    const refused = await expectProblem(await admin.postJson('/v1/keys', { scopes: ['jobs:read'] }), 409, 'key_limit_reached');
    expect(refused.detail).toMatch(/MAX_KEYS_PER_TENANT/);
    expect(refused).toMatchObject({ max_keys: 3, active_keys: 3 });

    expect((await fetch(`${api.url}/v1/keys/${made[0]}`, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    expect((await admin.postJson('/v1/keys', { scopes: ['jobs:read'] })).status).toBe(201);

    const other = client(api.url, (await createKey(env.pool, 'keyless')).key);
    expect((await other.postJson('/v1/keys', { scopes: ['jobs:read'] })).status).toBe(201);
  });

  it('concurrent creations cannot pass the cap', async () => {
    const admin = client(api.url, (await createKey(env.pool, 'racer')).key);
    const results = await Promise.all([...Array(6)].map(() => admin.postJson('/v1/keys', { scopes: ['jobs:read'] })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(2);
    expect(results.filter((r) => r.status === 409)).toHaveLength(4);
  });
});

