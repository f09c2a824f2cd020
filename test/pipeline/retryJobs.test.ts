import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { insertBatchJob } from '../../src/db/insertBatchJob.js';
import { encodeResultRows } from '../../src/results/resultRows.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { killAll, startApi, startWorker, type Proc } from '../helpers/processes.js';
import { readCsv } from './helpers.js';

// POST /v1/jobs/{id}/retry through real api and worker processes: the retry holds exactly the
// failed rows, rebuilt from the inputs kept with them, under their original row numbers and with
// their passthrough values; its results read merged into the original's give every original row
// in order. Chunks of 4 rows, so the original's failures and the retry itself span several chunks.
let env: TestEnv;
let api: Proc & { url: string };
let c: ReturnType<typeof client>;
let other: ReturnType<typeof client>;
let tenantId: string;

// value = a + 2b + 0.5. v1 refuses a missing cell; v2 reads it as 0; v4 also reads "abc" as missing.
const weights = [1, 2];
const base = { columns: ['a', 'b'], task: 'regression', passthrough: ['id'] };
const onnx = linearRegression(weights, 0.5);

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '4', INFERENCE_THREADS: '1' });
  api = await startApi(env.env);
  await startWorker(env.env);
  const acme = await createKey(env.pool, 'acme');
  tenantId = acme.tenantId;
  c = client(api.url, acme.key);
  other = client(api.url, (await createKey(env.pool, 'globex')).key);
  const versions = [
    { ...base, missing: 'error' },
    { ...base, missing: { fill: 0 } },
    { ...base, passthrough: [], missing: { fill: 0 } }, // other result columns: not mergeable as CSV
    { ...base, missing: { fill: 0 }, missing_values: ['', 'abc'] },
  ];
  for (const sig of versions) expect((await c.registerModel('cars', onnx, sig)).status).toBe(201);
  expect((await c.registerModel('wide', linearRegression([1, 1], 0), { columns: ['a', 'c'], task: 'regression' })).status).toBe(201);
}, 120_000);
afterAll(async () => {
  await killAll();
  await env?.close();
});

// 45 rows: "a" empty in rows 3, 10, 17, … (missing), "abc" in rows 5, 16, 27 (not a number).
// Row 10's note is quoted, with a newline, a comma and doubled quotes: its record must travel exactly.
const N = 45;
const missingRows = Array.from({ length: N }, (_, i) => i + 1).filter((i) => i % 7 === 3);
const textRows = Array.from({ length: N }, (_, i) => i + 1).filter((i) => i % 11 === 5 && i % 7 !== 3);
const failedRows = [...missingRows, ...textRows].sort((x, y) => x - y);
const cellA = (i: number) => (missingRows.includes(i) ? '' : textRows.includes(i) ? 'abc' : String(i));
const note = (i: number) => (i === 10 ? '"multi\nline, with ""quotes"""' : `n${i}`);
const record = (i: number) => `r${i},${cellA(i)},${i}.5,${note(i)}`;
const csv = `id,a,b,note\n${Array.from({ length: N }, (_, i) => record(i + 1)).join('\n')}\n`;
const want = (a: number, i: number) => a + 2 * (i + 0.5) + 0.5;

async function submit(model: string, body: string) {
  const res = await c.postCsv(`/v1/jobs?model=${model}`, body);
  expect(res.status).toBe(202);
  return c.waitForJob((await res.json()).id);
}
const retry = (id: string, body?: unknown, who = c) => (body === undefined ? who.post(`/v1/jobs/${id}/retry`) : who.postJson(`/v1/jobs/${id}/retry`, body));
async function retried(id: string, body?: unknown) {
  const res = await retry(id, body);
  const json = await res.json();
  expect(res.status, JSON.stringify(json)).toBe(202);
  return json;
}
const csvOf = async (id: string, query = '') => {
  const res = await c.get(`/v1/jobs/${id}/results${query}`);
  expect(res.status).toBe(200);
  return readCsv(await res.text());
};
const ndjson = async (id: string, query: string) => (await (await c.get(`/v1/jobs/${id}/results?format=ndjson${query}`)).text()).trim().split('\n').map((l) => JSON.parse(l));
async function pages(id: string, query: string, limit: number) {
  const rows: Record<string, any>[] = [];
  let cursor: number | null = 0;
  while (cursor !== null) {
    const page: { data: Record<string, any>[]; next_cursor: number | null } = await (await c.get(`/v1/jobs/${id}/results?format=json&limit=${limit}&cursor=${cursor}${query}`)).json();
    rows.push(...page.data);
    cursor = page.next_cursor;
  }
  return rows;
}

describe('retrying the failed rows of a CSV job', () => {
  let original: Record<string, any>;
  let first: Record<string, any>;

  beforeAll(async () => {
    original = await submit('cars:1', csv);
    first = await retried(original.id, { model: 'cars:2' });
  });

  it('makes a job linked to the original holding exactly its failed rows', async () => {
    expect(original.rows).toMatchObject({ total: N, failed: failedRows.length });
    expect((await csvOf(original.id)).filter((r) => r.error).map((r) => Number(r.row))).toEqual(failedRows);
    expect(first.retry).toEqual({ of: original.id, rows_retried: failedRows.length, rows_without_input: 0 });
    expect(first.retry_of).toBe(original.id);
    expect(first.model).toEqual({ name: 'cars', version: 2 });
    const done = await c.waitForJob(first.id);
    expect(done.status).toBe('completed');
    expect(done.rows).toMatchObject({ total: failedRows.length, succeeded: missingRows.length, failed: textRows.length });
    // Its error summary names the rows by their original numbers, as its results do.
    expect(done.errors.flatMap((e: { first_rows: number[] }) => e.first_rows)).toEqual(textRows);
    // 10 rows in chunks of 4: the retry's own chunks, each with its original row numbers.
    expect((await env.pool.query('SELECT count(*)::int AS n FROM job_chunks WHERE job_id = $1', [first.id])).rows[0].n).toBe(3);
  });

  it('its results show the original row numbers and passthrough values, the missing cells now scored', async () => {
    const rows = await csvOf(first.id);
    expect(rows.map((r) => Number(r.row))).toEqual(failedRows);
    expect(rows.map((r) => r.id)).toEqual(failedRows.map((i) => `r${i}`));
    for (const r of rows) {
      const i = Number(r.row);
      if (missingRows.includes(i)) {
        expect(r.error).toBe('');
        expect(Number(r.prediction)).toBeCloseTo(want(0, i), 4);
      } else expect(r.error).toMatch(/not a number/);
    }
    // NDJSON and JSON pages (the cursor is an original row number) agree.
    expect((await ndjson(first.id, '')).map((r) => r.row)).toEqual(failedRows);
    expect((await pages(first.id, '', 3)).map((r) => r.row)).toEqual(failedRows);
    expect((await pages(first.id, '&only=scored', 2)).map((r) => r.row)).toEqual(missingRows);
  });

  it('its failed rows come back with their inputs as uploaded, under their original numbers', async () => {
    const errors = await ndjson(first.id, '&only=errors');
    expect(errors.map((r) => [r.row, r.input])).toEqual(textRows.map((i) => [i, record(i)]));
    const asCsv = await csvOf(first.id, '?only=errors');
    expect(asCsv.map((r) => [r.row, r.id, r.a])).toEqual(textRows.map((i) => [String(i), `r${i}`, 'abc']));
  });

  it('merged=true gives every original row in order, the retried ones replaced by the retry', async () => {
    const before = await csvOf(original.id);
    const merged = await csvOf(first.id, '?merged=true');
    expect(merged.map((r) => Number(r.row))).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    const retriedRows = new Map((await csvOf(first.id)).map((r) => [r.row, r]));
    merged.forEach((r, i) => expect(r).toEqual(retriedRows.get(r.row) ?? before[i]));
    expect(merged.filter((r) => r.error).map((r) => Number(r.row))).toEqual(textRows);
    for (const i of missingRows) expect(Number(merged[i - 1].prediction)).toBeCloseTo(want(0, i), 4);
    // NDJSON, JSON pages and the errors-only download read the same merge.
    const nd = await ndjson(first.id, '&merged=true');
    expect(nd.map((r) => [r.row, r.passthrough.id, r.error ?? ''])).toEqual(merged.map((r) => [Number(r.row), r.id, r.error]));
    expect(await pages(first.id, '&merged=true', 4)).toEqual(nd);
    expect((await ndjson(first.id, '&merged=true&only=errors')).map((r) => [r.row, r.input])).toEqual(textRows.map((i) => [i, record(i)]));
    // On a job that is no retry, merged=true reads its own results.
    expect(await csvOf(original.id, '?merged=true')).toEqual(before);
  });

  it('a retry of the retry holds what still failed; merged resolves the whole chain', async () => {
    const second = await retried(first.id, { model: 'cars:4' });
    expect(second.retry).toEqual({ of: first.id, rows_retried: textRows.length, rows_without_input: 0 });
    expect((await c.waitForJob(second.id)).rows).toMatchObject({ total: textRows.length, succeeded: textRows.length, failed: 0 });
    expect((await csvOf(second.id)).map((r) => [r.row, r.id])).toEqual(textRows.map((i) => [String(i), `r${i}`]));
    const merged = await csvOf(second.id, '?merged=true');
    expect(merged.map((r) => Number(r.row))).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(merged.filter((r) => r.error)).toEqual([]);
    const before = await csvOf(original.id);
    merged.forEach((r, k) => {
      const i = k + 1;
      if (failedRows.includes(i)) expect(Number(r.prediction)).toBeCloseTo(want(0, i), 4);
      else expect(r).toEqual(before[k]);
    });
    // By default a retry is scored by the version its job was pinned to.
    const third = await retried(first.id);
    expect(third.model).toEqual({ name: 'cars', version: 2 });
  });

  it('merged as CSV refuses models with other result columns; NDJSON merges them', async () => {
    const plain = await retried(original.id, { model: 'cars:3' });
    await c.waitForJob(plain.id);
    const res = await c.get(`/v1/jobs/${plain.id}/results?merged=true`);
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe('results_not_mergeable');
    const nd = await ndjson(plain.id, '&merged=true');
    expect(nd.map((r) => r.row)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(nd.filter((r) => missingRows.includes(r.row)).every((r) => r.passthrough === undefined && r.error === null)).toBe(true);
  });

  it('an idempotency key replays the same retry, and refuses another request under it', async () => {
    const a = await retry(original.id, { model: 'cars:2', idempotency_key: 'retry-1' });
    expect(a.status).toBe(202);
    const job = await a.json();
    const b = await retry(original.id, { model: 'cars:2', idempotency_key: 'retry-1' });
    expect(b.status).toBe(200);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(await b.json()).toMatchObject({ id: job.id, retry: { of: original.id, rows_retried: failedRows.length, rows_without_input: 0 } });
    const reused = await retry(original.id, { model: 'cars:4', idempotency_key: 'retry-1' });
    expect(reused.status).toBe(409);
    expect((await reused.json()).code).toBe('idempotency_key_reused');
  });
});

describe('refusals', () => {
  it('a job of another tenant, or none, is not found; a job still running is not finished', async () => {
    const job = await submit('cars:1', csv);
    const foreign = await retry(job.id, undefined, other);
    expect(foreign.status).toBe(404);
    expect((await foreign.json()).code).toBe('job_not_found');
    expect((await retry('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const receiving = await insertBatchJob(env.pool, {
      tenantId, modelVersionId: await versionId(1), columns: ['id', 'a', 'b'], delimiter: ',', idempotencyKey: null, requestDigest: null, callbackUrl: null, maxErrorRate: null, decimal: '.', baseUrl: null,
    });
    const res = await retry(receiving!);
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe('job_not_finished');
  });

  it('a job without failed rows has nothing to retry; a model reading other columns is refused', async () => {
    const clean = await submit('cars:1', 'id,a,b\nr1,1,2\n');
    const res = await retry(clean.id);
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe('nothing_to_retry');
    const job = await submit('cars:1', 'id,a,b\nr1,,2\n');
    const wide = await retry(job.id, { model: 'wide' });
    expect(wide.status).toBe(422);
    expect(await wide.json()).toMatchObject({ code: 'missing_columns', missing: ['c'] });
    expect((await retry(job.id, { model: 'nope' })).status).toBe(404);
    expect((await retry(job.id, { modle: 'cars:2' })).status).toBe(400);
  });

  it('failed rows stored without their input are left out and counted; none to send is a 409', async () => {
    // As rows stored before inputs were kept: an error and no record, beside one that has its record.
    const mixed = await finishedJob([
      { value: null, scores: null, passthrough: ['r1'], error: 'column "a" is missing', record: null },
      { value: null, scores: null, passthrough: ['r2'], error: 'column "a" is missing', record: Buffer.from('r2,,4') },
      { value: null, scores: null, passthrough: ['r3'], error: 'column "a" is missing', record: null },
    ]);
    const job = await retried(mixed, { model: 'cars:2' });
    expect(job.retry).toEqual({ of: mixed, rows_retried: 1, rows_without_input: 2 });
    await c.waitForJob(job.id);
    const rows = await csvOf(job.id);
    expect(rows.map((r) => [r.row, r.id, r.error])).toEqual([['2', 'r2', '']]);
    expect(Number(rows[0].prediction)).toBeCloseTo(8.5, 4);
    const bare = await finishedJob([{ value: null, scores: null, passthrough: ['r1'], error: 'column "a" is missing', record: null }]);
    const res = await retry(bare);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'nothing_to_retry', rows_without_input: 1 });
  });
});

describe('the contract', () => {
  it('answers as /openapi.json documents: the retry job, a replay, problems, a merged page', async () => {
    const doc = await (await fetch(`${api.url}/openapi.json`)).json();
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    (addFormats as unknown as { default: (a: Ajv2020) => void }).default?.(ajv) ?? (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    ajv.addSchema({ $id: 'sluice', components: doc.components });
    const conforms = async (res: Response, method: string, path: string) => {
      const text = await res.text();
      const media = doc.paths[path][method].responses[String(res.status)]?.content?.[(res.headers.get('content-type') ?? '').split(';')[0]];
      expect(media, `${method} ${path} declares ${res.status}: ${text}`).toBeDefined();
      const validate = ajv.compile({ $ref: `sluice${media.schema.$ref}` });
      expect(validate(JSON.parse(text)), ajv.errorsText(validate.errors)).toBe(true);
      return JSON.parse(text);
    };
    const job = await submit('cars:1', 'id,a,b\nr1,,2\nr2,1,2\n');
    const made = await conforms(await retry(job.id, { idempotency_key: 'contract' }), 'post', '/v1/jobs/{id}/retry');
    expect(made.retry).toEqual({ of: job.id, rows_retried: 1, rows_without_input: 0 });
    await conforms(await retry(job.id, { idempotency_key: 'contract' }), 'post', '/v1/jobs/{id}/retry');
    await conforms(await retry(made.id), 'post', '/v1/jobs/{id}/retry'); // 409 job_not_finished or nothing_to_retry
    await conforms(await retry(job.id, undefined, other), 'post', '/v1/jobs/{id}/retry');
    await c.waitForJob(made.id);
    const page = await conforms(await c.get(`/v1/jobs/${made.id}/results?format=json&merged=true`), 'get', '/v1/jobs/{id}/results');
    expect(page.data.map((r: { row: number }) => r.row)).toEqual([1, 2]);
  });
});

describe('retrying single predictions', () => {
  it('an online job becomes a retry of JSON records, under their original numbers', async () => {
    const inputs = [{ id: 'p1', a: 1, b: 2 }, { id: 'p2', a: null, b: 3 }, { id: 'p3', a: 'x', b: 1 }, { id: 'p4', a: null, b: 1 }];
    const res = await c.postJson('/v1/predictions', { model: 'cars:1', inputs, wait: 30 });
    const online = await res.json();
    expect(online.rows).toMatchObject({ failed: 3 });
    const job = await retried(online.id, { model: 'cars:2' });
    expect(job.retry).toMatchObject({ rows_retried: 3, rows_without_input: 0 });
    await c.waitForJob(job.id);
    const rows = await ndjson(job.id, '');
    expect(rows.map((r) => [r.row, r.passthrough.id, r.error === null])).toEqual([[2, 'p2', true], [3, 'p3', false], [4, 'p4', true]]);
    expect(rows[0].prediction).toBeCloseTo(6.5, 4);
    expect((await ndjson(job.id, '&only=errors')).map((r) => [r.row, r.input])).toEqual([[3, inputs[2]]]);
    const merged = await pages(job.id, '&merged=true', 2);
    expect(merged.map((r) => [r.row, r.error === null])).toEqual([[1, true], [2, true], [3, false], [4, true]]);
  });
});

async function versionId(version: number): Promise<number> {
  const { rows } = await env.pool.query(
    `SELECT mv.id FROM model_versions mv JOIN models m ON m.id = mv.model_id WHERE m.tenant_id = $1 AND m.name = 'cars' AND mv.version = $2`,
    [tenantId, version],
  );
  return Number(rows[0].id);
}

/** A finished job whose stored results are `rows` (as a release before inputs were kept stored some). */
async function finishedJob(rows: Parameters<typeof encodeResultRows>[0] extends Iterable<infer R> ? R[] : never): Promise<string> {
  const id = (await insertBatchJob(env.pool, {
    tenantId, modelVersionId: await versionId(1), columns: ['id', 'a', 'b'], delimiter: ',', idempotencyKey: null, requestDigest: null, callbackUrl: null, maxErrorRate: null, decimal: '.', baseUrl: null,
  }))!;
  await env.pool.query(
    `UPDATE jobs SET status = 'completed', upload_complete = true, rows_total = $2, rows_failed = $2, finished_at = now() WHERE id = $1`,
    [id, rows.length],
  );
  await env.pool.query('INSERT INTO prediction_chunks (job_id, first_row, row_count, rows) VALUES ($1, 1, $2, $3)', [id, rows.length, encodeResultRows(rows)]);
  return id;
}
