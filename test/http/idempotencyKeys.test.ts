import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { apiForTenant, type ApiForTenant } from '../helpers/api.js';

// An idempotency key replays the request it was first used with, and only that one: the same key
// with another model, other options or another body is a 409 idempotency_key_reused (as Stripe
// does), never the earlier job answered as if it were this request's.

let t: ApiForTenant;
let c: ApiForTenant['c'];
const sig = { columns: ['a', 'b'], task: 'regression' };

beforeAll(async () => {
  t = await apiForTenant();
  c = t.c;
  for (const name of ['cars', 'other']) expect((await c.registerModel(name, linearRegression([1, 2], 0), sig)).status).toBe(201);
});
afterAll(() => t?.close());

describe('CSV uploads', () => {
  const csv = 'a,b\n1,2\n3,4\n';

  it('replays the same request: 200, the same job, Idempotent-Replayed', async () => {
    const first = await c.postCsv('/v1/jobs?model=cars&idempotency_key=k-same', csv);
    expect(first.status).toBe(202);
    const again = await c.postCsv('/v1/jobs?model=cars&idempotency_key=k-same', csv);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await again.json()).id).toBe((await first.json()).id);
  });

  it.each([
    ['another model', '/v1/jobs?model=other&idempotency_key=k-1', csv],
    ['other options', '/v1/jobs?model=cars&idempotency_key=k-1&delimiter=%3B', csv],
    ['another body', '/v1/jobs?model=cars&idempotency_key=k-1', 'a,b\n1,2\n3,5\n'],
  ])('the same key with %s: 409 idempotency_key_reused naming the earlier job', async (_what, path, body) => {
    const first = await c.postCsv('/v1/jobs?model=cars&idempotency_key=k-1', csv);
    expect([200, 202]).toContain(first.status);
    const res = await c.postCsv(path, body);
    expect(res.status).toBe(409);
    const problem = await res.json();
    expect(problem.code).toBe('idempotency_key_reused');
    expect(problem.job_id).toBe((await first.json()).id);
  });
});

describe('single predictions', () => {
  const post = (model: string, inputs: unknown[]) => c.postJson('/v1/predictions', { model, inputs, idempotency_key: `p-${model === 'x' ? 0 : 1}` });

  it('replays the same request and refuses the key with another model or other inputs', async () => {
    const first = await post('cars', [{ a: 1, b: 2 }]);
    expect(first.status).toBe(202);
    const id = (await first.json()).id;
    const again = await post('cars', [{ a: 1, b: 2 }]);
    expect([200, 202]).toContain(again.status);
    expect((await again.json()).id).toBe(id);
    for (const res of [await post('other', [{ a: 1, b: 2 }]), await post('cars', [{ a: 1, b: 3 }])]) {
      expect(res.status).toBe(409);
      expect((await res.json()).code).toBe('idempotency_key_reused');
    }
  });
});
