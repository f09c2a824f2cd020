import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiForTenant, type ApiForTenant } from '../helpers/api.js';

// GET /v1/jobs?cursor= takes back only what it gave out: a forged cursor is the caller's 400 with
// a stable code, never a Postgres cast error turned into a 500.

let t: ApiForTenant;
let c: ApiForTenant['c'];

beforeAll(async () => {
  t = await apiForTenant();
  c = t.c;
});
afterAll(() => t?.close());

const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('job list cursors', () => {
  it.each([
    ['a UUID of dashes', { t: '2020-01-01T00:00:00Z', id: '-'.repeat(36) }],
    ['a bare number as the time', { t: '1', id: '00000000-0000-0000-0000-000000000000' }],
    ['a time with a zone name', { t: 'Wed, 01 Jan 2020 00:00:00 GMT', id: '00000000-0000-0000-0000-000000000000' }],
    ['null', null],
    ['not JSON', 'x'],
  ])('%s → 400 validation_failed', async (_what, v) => {
    const res = await c.get(`/v1/jobs?cursor=${typeof v === 'string' ? v : cursor(v)}`);
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe('validation_failed');
  });

  it('a cursor the api gave out still pages', async () => {
    const res = await c.get(`/v1/jobs?cursor=${cursor({ t: '2020-01-01T00:00:00.123Z', id: '00000000-0000-0000-0000-000000000000' })}`);
    expect(res.status).toBe(200);
    expect((await res.json()).data).toEqual([]);
  });
});
