import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { redactUrl } from '../../src/http/logRedaction.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { killAll, startApi } from '../helpers/processes.js';

// The api's request log: a key sent in the query string or a callback URL's query never appears in
// clear, and a refused request's line says which problem it got.

let env: TestEnv;
let api: Awaited<ReturnType<typeof startApi>>;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  key = (await createKey(env.pool, 'acme')).key;
  api = await startApi(env.env, { LOG_LEVEL: 'info' });
});
afterAll(async () => {
  await killAll();
  await env?.close();
});

describe('request logs', () => {
  it('redact secret-like query values, keeping the names', () => {
    expect(redactUrl('/v1/jobs?model=m&api_key=sluice_sk_x&callback_url=https%3A%2F%2Fh%2Fcb%3Ftoken%3Dt')).toBe('/v1/jobs?model=m&api_key=[redacted]&callback_url=[redacted]');
    expect(redactUrl('/v1/jobs?%61pi_key=x&limit=5')).toBe('/v1/jobs?%61pi_key=[redacted]&limit=5');
    expect(redactUrl('/v1/jobs')).toBe('/v1/jobs');
  });

  it('never log a key given in the query, and carry the problem code of a 4xx', async () => {
    const secret = 'sluice_sk_' + 'q'.repeat(40);
    const res = await fetch(`${api.url}/v1/jobs?api_key=${secret}`);
    expect(res.status).toBe(401);
    const bad = await fetch(`${api.url}/v1/jobs?model=none&callback_url=https://h.example/cb?token=hunter2`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' }, body: 'a\n1\n' });
    expect(bad.status).toBe(404);
    const requestId = bad.headers.get('x-request-id');
    // The request's line is written as the response finishes, and read from the process's stdout.
    await expect.poll(() => api.logs.some((l) => (l.req as { id?: string } | undefined)?.id === requestId)).toBe(true);
    const text = api.logs.map((l) => JSON.stringify(l)).join('\n');
    expect(text).not.toContain(secret);
    expect(text).not.toContain('hunter2');
    const line = api.logs.find((l) => (l.req as { id?: string } | undefined)?.id === requestId)!;
    expect(line.code).toBe('model_not_found');
    expect(api.logs.find((l) => String((l.req as { url?: string } | undefined)?.url).includes('api_key'))?.code).toBe('unauthorized');
  });
});
