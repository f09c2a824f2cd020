import { afterAll, beforeAll, expect, it } from 'vitest';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { apiForTenant, type ApiForTenant } from '../helpers/api.js';

// What a job view says beyond its counters: when retention will delete it (expires_at,
// RETENTION_TTL_HOURS after it finished; null while it runs), and links a receiver can follow.

let t: ApiForTenant;
let c: ApiForTenant['c'];

beforeAll(async () => {
  t = await apiForTenant({ RETENTION_TTL_HOURS: '48' });
  c = t.c;
  expect((await c.registerModel('m', linearRegression([1, 2], 0), { columns: ['a', 'b'], task: 'regression' })).status).toBe(201);
});
afterAll(() => t?.close());

it('expires_at is finished_at + RETENTION_TTL_HOURS, null until the job finishes', async () => {
  const job = await (await c.postCsv('/v1/jobs?model=m', 'a,b\n1,2\n')).json();
  expect(job.expires_at).toBeNull();
  const cancelled = await (await c.post(`/v1/jobs/${job.id}/cancel`)).json();
  expect(Date.parse(cancelled.expires_at) - Date.parse(cancelled.finished_at)).toBe(48 * 3_600_000);
  const listed = (await (await c.get('/v1/jobs')).json()).data[0];
  expect(listed.expires_at).toBe(cancelled.expires_at);
});

it('without PUBLIC_URL, links are absolute on the base of the request that created the job, also in its webhook payload', async () => {
  const job = await (await c.postCsv('/v1/jobs?model=m&callback_url=http://127.0.0.1:9/hook', 'a,b\n1,2\n')).json();
  expect(job.links.self).toBe(`${t.api.url}/v1/jobs/${job.id}`);
  await c.post(`/v1/jobs/${job.id}/cancel`);
  const { rows } = await t.env.pool.query(`SELECT payload FROM webhook_deliveries WHERE job_id = $1`, [job.id]);
  expect(rows[0].payload.data.links.results).toBe(`${t.api.url}/v1/jobs/${job.id}/results`);
});
