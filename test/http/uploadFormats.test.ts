import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createKey } from '../../src/auth/tenants.js';
import { loadConfig } from '../../src/config.js';
import { trainDemoModels } from '../../scripts/train/demoModels.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { expectProblem } from '../helpers/problem.js';
import { startWorkerInProcess, type InProcessWorker } from '../helpers/worker.js';
import { readCsv } from '../pipeline/helpers.js';

// The formats users bring, through HTTP with a real worker: gzip-compressed uploads (the body's
// Content-Encoding, or a gzip file part), JSON Lines uploads, and gzip-compressed downloads. The
// decompression bomb against a real api process is in gzipBomb.test.ts.
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let worker: InProcessWorker;
let c: ReturnType<typeof client>;
let key: string;
const demo = trainDemoModels();
const csv = demo.penguins.holdoutCsv;
const input = readCsv(csv);
const FEATURES = demo.penguins.signature.columns!;

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '20', INFERENCE_THREADS: '1' });
  api = await startInProcessApi(env.config);
  worker = await startWorkerInProcess(env.env);
  key = (await createKey(env.pool, 'acme')).key;
  c = client(api.url, key);
  const m = demo.penguins;
  expect((await c.registerModel(m.name, m.onnx, m.signature, m.metrics)).status).toBe(201);
});
afterAll(async () => {
  await worker?.close();
  await api?.close();
  await env?.close();
});

async function accepted(res: Response) {
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(202);
  const job = await c.waitForJob(body.id);
  expect(job.status, JSON.stringify(job)).toBe('completed');
  return job;
}
const post = (body: BodyInit, headers: Record<string, string>, query = '') => c.post(`/v1/jobs?model=penguins${query}`, body, headers);
const resultsCsv = async (id: string) => (await c.get(`/v1/jobs/${id}/results`, { 'accept-encoding': 'identity' })).text();
const form = (blob: Blob, filename: string) => {
  const f = new FormData();
  f.set('file', blob, filename);
  return f;
};
/** The holdout rows as JSON Lines: numbers as JSON numbers, the id and species as strings. */
const jsonLines = (rows: Record<string, string>[]) =>
  rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, FEATURES.includes(k) ? Number(v) : v])))).join('\n') + '\n';

/** Raw bytes and headers of a GET, without fetch's transparent decompression. */
function rawGet(path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${api.url}${path}`, { headers: { authorization: `Bearer ${key}`, ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('gzip uploads', () => {
  let plain: string;
  beforeAll(async () => {
    plain = await resultsCsv((await accepted(await post(csv, { 'content-type': 'text/csv' }))).id);
    expect(readCsv(plain)).toHaveLength(input.length);
  });

  it('a text/csv body with Content-Encoding: gzip scores exactly as the plain upload', async () => {
    const job = await accepted(await post(gzipSync(csv), { 'content-type': 'text/csv', 'content-encoding': 'gzip' }));
    expect(job.rows).toMatchObject({ total: input.length, succeeded: input.length, failed: 0 });
    expect(await resultsCsv(job.id)).toBe(plain);
  });

  it('a multipart part named *.csv.gz, and a gzip part whatever its name, score as the plain upload', async () => {
    const named = await accepted(await c.post('/v1/jobs?model=penguins', form(new Blob([gzipSync(csv)], { type: 'application/gzip' }), 'penguins.csv.gz')));
    expect(await resultsCsv(named.id)).toBe(plain);
    // No .gz in the name: its gzip bytes say what it is.
    const sniffed = await accepted(await c.post('/v1/jobs?model=penguins', form(new Blob([gzipSync(csv)], { type: 'application/gzip' }), 'upload')));
    expect(await resultsCsv(sniffed.id)).toBe(plain);
  });

  it('a gzip file part that expands like a bomb gets 413 naming MAX_GZIP_RATIO (the in-process view; gzipBomb.test.ts measures memory)', async () => {
    // Chunks of the default size: this file's CHUNK_ROWS=20 would store thousands of chunks before the ratio is passed.
    const other = await startInProcessApi(loadConfig({ ...env.env, CHUNK_ROWS: '5000' }));
    try {
      const bomb = gzipSync(csv.split('\n')[0] + '\n' + '1,40,18,190,4000,Adelie\n'.repeat(400_000));
      expect(bomb.length).toBeLessThan(30_000); // over 400 times smaller
      const f = form(new Blob([bomb]), 'rows.csv.gz');
      const body = await expectProblem(await fetch(`${other.url}/v1/jobs?model=penguins`, { method: 'POST', body: f, headers: { authorization: `Bearer ${key}` } }), 413, 'payload_too_large');
      expect(body.detail).toMatch(/expands more than 200 times \(MAX_GZIP_RATIO\)/);
    } finally {
      await other.close();
    }
  });

  it('a corrupt or cut gzip stream gets 400 invalid_gzip, and leaves no job to score', async () => {
    const since = new Date();
    const garbage = Buffer.from('this is not gzip at all\n'.repeat(10));
    expect((await expectProblem(await post(garbage, { 'content-type': 'text/csv', 'content-encoding': 'gzip' }), 400, 'invalid_gzip')).detail).toMatch(/not a valid gzip stream/);
    // Cut in the middle: the header and some rows decompress (a job starts), then the stream ends early.
    const big = csv + csv.split('\n').slice(1).join('\n').repeat(30);
    const whole = gzipSync(big);
    const cut = whole.subarray(0, whole.length >> 1);
    await expectProblem(await post(cut, { 'content-type': 'text/csv', 'content-encoding': 'gzip' }), 400, 'invalid_gzip');
    await expectProblem(await c.post('/v1/jobs?model=penguins', form(new Blob([garbage]), 'data.csv.gz')), 400, 'invalid_gzip');
    // The cut stream started a job (its header inflated): it ended failed with the same code, its chunks deleted.
    const { rows } = await env.pool.query(`SELECT status, error_code, (SELECT count(*)::int FROM job_chunks c WHERE c.job_id = j.id) AS chunks FROM jobs j WHERE created_at >= $1`, [since]);
    expect(rows).toEqual([{ status: 'failed', error_code: 'invalid_gzip', chunks: 0 }]);
  });

  it('a gzip upload cut off mid-stream by the client ends upload_aborted (not invalid_gzip), its chunks deleted', async () => {
    const gz = gzipSync(csv + csv.split('\n').slice(1).join('\n').repeat(200));
    const url = new URL(`${api.url}/v1/jobs?model=penguins&idempotency_key=gz-cut`);
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv', 'content-encoding': 'gzip', 'transfer-encoding': 'chunked' } });
    req.on('error', () => {});
    req.write(gz.subarray(0, gz.length >> 1));
    // The job exists once the header row has been inflated and checked.
    let id: string | undefined;
    for (let i = 0; i < 1000 && !id; i++) {
      id = (await env.pool.query(`SELECT id FROM jobs WHERE idempotency_key = 'gz-cut'`)).rows[0]?.id;
      if (!id) await new Promise((r) => setTimeout(r, 10));
    }
    req.destroy();
    expect(id).toBeTruthy();
    let job: { status: string; error_code: string; chunks: number } | undefined;
    for (let i = 0; i < 200 && job?.status !== 'failed'; i++) {
      job = (await env.pool.query(`SELECT status, error_code, (SELECT count(*)::int FROM job_chunks c WHERE c.job_id = j.id) AS chunks FROM jobs j WHERE id = $1`, [id])).rows[0];
      if (job?.status !== 'failed') await new Promise((r) => setTimeout(r, 25));
    }
    expect(job).toEqual({ status: 'failed', error_code: 'upload_aborted', chunks: 0 });
  });

  it('an unknown Content-Encoding gets 415, and so does a compressed multipart body', async () => {
    for (const enc of ['br', 'deflate', 'gzip, br']) {
      const body = await expectProblem(await post(csv, { 'content-type': 'text/csv', 'content-encoding': enc }), 415, 'unsupported_media_type');
      expect(body.detail).toMatch(/Content-Encoding/);
    }
    const f = form(new Blob([csv]), 'penguins.csv');
    const encoded = new Response(f);
    const bytes = gzipSync(Buffer.from(await encoded.arrayBuffer()));
    await expectProblem(await post(bytes, { 'content-type': encoded.headers.get('content-type')!, 'content-encoding': 'gzip' }), 415, 'unsupported_media_type');
  });

  it('decompressed bytes count against MAX_UPLOAD_BYTES: 413 naming the limit', async () => {
    // A second api on the same database with a small upload limit; the body compresses about 3 times, far under the ratio limit.
    const small = await startInProcessApi(loadConfig({ ...env.env, MAX_UPLOAD_BYTES: '20000' }));
    try {
      let text = 'id,Beak Length (mm),Beak Depth (mm),Flipper Length (mm),Body Mass (g)\n';
      for (let i = 0; text.length < 40_000; i++) text += `${i},${(30 + ((i * 7919) % 300) / 10).toFixed(1)},${(13 + ((i * 104729) % 80) / 10).toFixed(1)},${170 + ((i * 31) % 60)},${2700 + ((i * 613) % 3600)}\n`;
      const gz = gzipSync(text);
      expect(gz.length).toBeLessThan(20_000);
      const res = await fetch(`${small.url}/v1/jobs?model=penguins`, { method: 'POST', body: gz, headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv', 'content-encoding': 'gzip' } });
      expect((await expectProblem(res, 413, 'payload_too_large')).detail).toMatch(/decompresses to more than 20000 bytes.*MAX_UPLOAD_BYTES/);
    } finally {
      await small.close();
    }
  });
});

describe('JSON Lines uploads', () => {
  // The same records as CSV and as JSON Lines, each with one bad row at the same place: in the CSV
  // a cell that is not a number, in the JSON Lines a line that is not JSON. Blank lines are skipped.
  const BAD = 30;
  const rowsWithBad = input.map((r, i) => (i === BAD - 1 ? { ...r, 'Beak Length (mm)': 'abc' } : r));
  const csvWithBad = [Object.keys(input[0]).join(','), ...rowsWithBad.map((r) => Object.values(r).join(','))].join('\n') + '\n';
  const lines = jsonLines(input).trimEnd().split('\n');
  lines[BAD - 1] = '{"id": "broken", "Beak Length (mm)": 39.1,';
  const jsonl = lines.slice(0, 10).join('\n') + '\n\n   \n' + lines.slice(10).join('\r\n') + '\n';
  let fromCsv: Record<string, string>[];

  beforeAll(async () => {
    const job = await accepted(await post(csvWithBad, { 'content-type': 'text/csv' }));
    expect(job.rows).toMatchObject({ total: input.length, succeeded: input.length - 1, failed: 1 });
    fromCsv = readCsv(await resultsCsv(job.id));
  });

  const sameResults = (got: Record<string, string>[]) => {
    expect(got).toHaveLength(input.length);
    got.forEach((r, i) => {
      const want = fromCsv[i];
      if (i === BAD - 1) {
        expect(r.row).toBe(String(BAD));
        expect(r.prediction).toBe('');
        // The line in the file: BAD, plus the two blank lines skipped before it.
        expect(r.error).toBe(`line ${BAD + 2}: record is not an object`);
        expect(want.error).toMatch(/not a number/);
        return;
      }
      expect(r).toEqual(want); // row number, prediction, every probability, the id passed through, no error
    });
  };

  it('gives the same results as the same records sent as CSV, a bad line failing only its row', async () => {
    const job = await accepted(await post(jsonl, { 'content-type': 'application/x-ndjson' }));
    expect(job.rows).toMatchObject({ total: input.length, succeeded: input.length - 1, failed: 1 });
    expect(job.errors?.[0]).toMatchObject({ count: 1, first_rows: [BAD] });
    sameResults(readCsv(await resultsCsv(job.id)));
    // Stored as JSON chunks (the workers' JSON road), cut at CHUNK_ROWS.
    const { rows } = await env.pool.query(`SELECT format, row_count FROM job_chunks WHERE job_id = $1 ORDER BY seq`, [job.id]);
    expect(rows.map((r) => r.format)).toEqual(['json', 'json', 'json', 'json']);
    expect(rows.map((r) => r.row_count)).toEqual([20, 20, 20, input.length - 60]);
  });

  it('gzip works for JSON Lines: Content-Encoding, and a *.jsonl.gz or *.ndjson part', async () => {
    sameResults(readCsv(await resultsCsv((await accepted(await post(gzipSync(jsonl), { 'content-type': 'application/jsonl', 'content-encoding': 'gzip' }))).id)));
    sameResults(readCsv(await resultsCsv((await accepted(await c.post('/v1/jobs?model=penguins', form(new Blob([gzipSync(jsonl)]), 'batch.jsonl.gz')))).id)));
    sameResults(readCsv(await resultsCsv((await accepted(await c.post('/v1/jobs?model=penguins', form(new Blob([jsonl]), 'batch.ndjson')))).id)));
  });

  it('an evaluation job (label_column) over JSON Lines gives the figures the CSV gives', async () => {
    const rows = input.slice(0, 50);
    const asCsv = [Object.keys(rows[0]).join(','), ...rows.map((r) => Object.values(r).join(','))].join('\n') + '\n';
    const a = await accepted(await post(asCsv, { 'content-type': 'text/csv' }, '&label_column=Species'));
    const b = await accepted(await post(jsonLines(rows), { 'content-type': 'application/x-ndjson' }, '&label_column=Species'));
    expect(a.evaluation?.accuracy).toBeGreaterThan(0.5);
    // Chunks' figures merge in the order they finish: counts are exact, a sum of floats (log loss) only close.
    expect({ ...b.evaluation, log_loss: 0 }).toEqual({ ...a.evaluation, log_loss: 0 });
    expect(b.evaluation.log_loss).toBeCloseTo(a.evaluation.log_loss, 12);
  });

  it('the first record decides: not an object → 422 invalid_records; a missing key → 422 missing_columns naming the near miss', async () => {
    expect((await expectProblem(await post('[1, 2, 3]\n{"a": 1}\n', { 'content-type': 'application/x-ndjson' }), 422, 'invalid_records')).detail).toMatch(/Line 1, the first record, is not a JSON object/);
    await expectProblem(await post('\n\nnot json\n', { 'content-type': 'application/x-ndjson' }), 422, 'invalid_records');
    await expectProblem(await post('\n \n', { 'content-type': 'application/x-ndjson' }), 422, 'empty_upload');
    expect((await expectProblem(await post(jsonLines(input.slice(0, 3)), { 'content-type': 'application/x-ndjson' }, '&decimal=,&delimiter=;'), 400, 'validation_failed')).detail).toMatch(/CSV options/);
    const wrongCase = jsonLines(input.slice(0, 3)).replaceAll('"Body Mass (g)"', '"body mass (g)"');
    const body = await expectProblem(await post(wrongCase, { 'content-type': 'application/x-ndjson' }), 422, 'missing_columns');
    expect(body.missing).toEqual(['Body Mass (g)']);
    expect(body.suggestions).toEqual({ 'Body Mass (g)': 'body mass (g)' });
    expect(body.detail).toMatch(/matched exactly/);
    const bad = await expectProblem(await post(jsonLines(input.slice(0, 2)) + `{"id": "${'x'.repeat(2 * 1024 * 1024)}"}\n`, { 'content-type': 'application/x-ndjson' }), 422, 'record_too_large');
    expect(bad.detail).toMatch(/Line 3 is longer than .* bytes \(MAX_RECORD_BYTES\)/);
  });
});

describe('compressed downloads', () => {
  const SYNC_FLUSH = Buffer.from([0, 0, 0xff, 0xff]);
  let id: string;
  beforeAll(async () => {
    id = (await accepted(await post(csv, { 'content-type': 'text/csv' }))).id;
  });

  it('Accept-Encoding: gzip gives a gzip body that decompresses to the same CSV (and NDJSON)', async () => {
    const plain = await rawGet(`/v1/jobs/${id}/results`, { 'accept-encoding': 'identity' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    const zipped = await rawGet(`/v1/jobs/${id}/results`, { 'accept-encoding': 'gzip' });
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toMatch(/Accept-Encoding/i);
    expect(zipped.headers['content-type']).toMatch(/text\/csv/);
    expect(zipped.body.length).toBeLessThan(plain.body.length);
    expect(gunzipSync(zipped.body).toString()).toBe(plain.body.toString());
    // Flushed as written, not when zlib's window fills: each sync flush ends in an empty stored
    // block (00 00 ff ff); the header line and the stored chunks' rows are separate writes.
    let flushes = 0;
    for (let at = zipped.body.indexOf(SYNC_FLUSH); at !== -1; at = zipped.body.indexOf(SYNC_FLUSH, at + 1)) flushes++;
    expect(flushes).toBeGreaterThanOrEqual(2);
    const nd = await rawGet(`/v1/jobs/${id}/results?format=ndjson`, { 'accept-encoding': 'gzip' });
    expect(nd.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(nd.body).toString()).toBe((await rawGet(`/v1/jobs/${id}/results?format=ndjson`, {})).body.toString());
  });

  it('Server-Sent Events are never compressed', async () => {
    const res = await rawGet(`/v1/jobs/${id}/events`, { 'accept-encoding': 'gzip', accept: 'text/event-stream' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.body.toString()).toMatch(/event: completed/);
  });
});
