import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { startWorkerInProcess, type InProcessWorker } from '../helpers/worker.js';

// A job says why its rows failed: the most frequent kinds of row error with counts and their first
// rows, so nobody downloads a million rows to learn that a column was text. A job where nothing
// could be scored ends failed (all_rows_failed) and fires job.failed; max_error_rate stops a job
// whose rows fail too often.

let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let worker: InProcessWorker;
let c: ReturnType<typeof client>;
const sig = { columns: ['a', 'b'], task: 'regression', passthrough: ['id'] };

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '100' });
  api = await startInProcessApi(env.config);
  c = client(api.url, (await createKey(env.pool, 'acme')).key);
  expect((await c.registerModel('cars', linearRegression([1, 2], 0), sig)).status).toBe(201);
  worker = await startWorkerInProcess(env.env, { INFERENCE_THREADS: '1' });
});
afterAll(async () => {
  await worker?.close();
  await api?.close();
  await env?.close();
});

const csv = (rows: string[]) => `id,a,b\n${rows.join('\n')}\n`;

describe('error summaries', () => {
  it('a job whose every row failed ends failed all_rows_failed, with the errors by kind and their first rows', async () => {
    // 406 rows over 5 chunks: text in "a" (every row a different value), and four ragged rows.
    const rows = Array.from({ length: 406 }, (_, i) => (i % 100 === 7 ? `${i + 1},1` : `${i + 1},text-${i},2`));
    const res = await c.postCsv('/v1/jobs?model=cars', csv(rows));
    expect(res.status).toBe(202);
    const job = await c.waitForJob((await res.json()).id);
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('all_rows_failed');
    expect(job.rows).toMatchObject({ total: 406, succeeded: 0, failed: 406 });
    expect(job.errors).toEqual([
      { code: 'not_a_number', message: 'column "a" is not a number', count: 402, first_rows: [1, 2, 3, 4, 5] },
      { code: 'wrong_field_count', message: "the row does not have the header's 3 fields", count: 4, first_rows: [8, 108, 208, 308] },
    ]);
  });

  it('a job with some bad rows completes, and still says which rows failed and why', async () => {
    const rows = Array.from({ length: 250 }, (_, i) => (i === 150 || i === 220 ? `${i + 1},,2` : `${i + 1},${i},2`));
    const job = await c.waitForJob((await (await c.postCsv('/v1/jobs?model=cars', csv(rows))).json()).id);
    expect(job.status).toBe('completed');
    expect(job.errors).toEqual([{ code: 'missing_value', message: 'column "a" is missing', count: 2, first_rows: [151, 221] }]);
    const clean = await c.waitForJob((await (await c.postCsv('/v1/jobs?model=cars', csv(['1,1,2']))).json()).id);
    expect(clean.errors).toEqual([]);
  });

  it('max_error_rate: a job whose rows fail past the rate is failed error_rate_exceeded and its remaining rows are not scored', async () => {
    // 3,000 rows, half of them bad from the start: judged after 1,000 rows.
    const rows = Array.from({ length: 3000 }, (_, i) => (i % 2 ? `${i + 1},x,2` : `${i + 1},${i},2`));
    const res = await c.postCsv('/v1/jobs?model=cars&max_error_rate=0.1', csv(rows));
    expect(res.status).toBe(202);
    const job = await c.waitForJob((await res.json()).id);
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('error_rate_exceeded');
    expect(job.rows.succeeded + job.rows.failed).toBeLessThan(3000);
    expect(job.rows.failed).toBeGreaterThan(100);
  });

  it('the worker logs one line when a job starts and one when it ends, each naming the job, tenant and model', async () => {
    const rows = Array.from({ length: 250 }, (_, i) => `${i + 1},${i % 50 ? i : 'x'},2`);
    const job = await c.waitForJob((await (await c.postCsv('/v1/jobs?model=cars', csv(rows))).json()).id);
    const mine = worker.logs.filter((l) => l.job_id === job.id);
    const tenant = (await env.pool.query('SELECT tenant_id FROM jobs WHERE id = $1', [job.id])).rows[0].tenant_id;
    for (const l of mine) expect(l).toMatchObject({ tenant, model: 'cars', version: 1 });
    expect(mine.filter((l) => l.msg === 'job started')).toHaveLength(1);
    const end = mine.filter((l) => l.msg === 'job finished');
    expect(end).toHaveLength(1);
    expect(end[0]).toMatchObject({ status: 'completed', rows: 250, failed: 5 });
    expect(end[0].duration_ms).toBe(Date.parse(job.finished_at) - Date.parse(job.created_at));
  });

  it('refuses a max_error_rate outside 0–1', async () => {
    const res = await c.postCsv('/v1/jobs?model=cars&max_error_rate=1.5', csv(['1,1,2']));
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe('validation_failed');
  });
});
