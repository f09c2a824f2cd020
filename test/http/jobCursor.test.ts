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

  it('jobs created within the same millisecond are each listed once, page after page', async () => {
    // Three jobs of one millisecond, microseconds apart (a Date would hold them as one instant).
    const { rows: [tenant] } = await t.env.pool.query(`SELECT id FROM tenants WHERE name = 'acme'`);
    await t.env.pool.query(`INSERT INTO models (tenant_id, name) VALUES ($1, 'same-ms')`, [tenant.id]);
    const { rows: [mv] } = await t.env.pool.query(
      `INSERT INTO model_versions (model_id, version, onnx, sha256, size_bytes, signature, io)
       SELECT id, 1, '\\x00', 'x', 1, '{"columns": ["a"], "task": "regression"}', '{"plan": {"maxBatch": null}}' FROM models WHERE name = 'same-ms' RETURNING id`,
    );
    const { rows: made } = await t.env.pool.query(
      `INSERT INTO jobs (tenant_id, model_version_id, kind, status, columns, created_at)
       SELECT $1, $2, 'batch', 'completed', '{a}', '2026-01-02T03:04:05.123Z'::timestamptz + make_interval(secs => i / 1e6) FROM generate_series(1, 3) i RETURNING id`,
      [tenant.id, mv.id],
    );
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const page: { data: { id: string }[]; next_cursor: string | null } = await (await c.get(`/v1/jobs?model=same-ms&limit=1${next ? `&cursor=${next}` : ''}`)).json();
      seen.push(...page.data.map((j) => j.id));
      next = page.next_cursor;
    } while (next);
    expect(seen.sort()).toEqual(made.map((r: { id: string }) => r.id).sort());
  });
});
