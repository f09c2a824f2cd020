import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { trainDemoModels } from '../../scripts/train/demoModels.js';
import { fixedWeights, nhwcImageModel, sklearnStyleClassifier } from '../fixtures/onnxBuilder.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { startWorkerInProcess, type InProcessWorker } from '../helpers/worker.js';
import { readCsv, scoreDirectly } from './helpers.js';

// Through HTTP with a real worker (in this process): what the service returns must equal onnxruntime run
// directly on the same rows with the signature's preprocessing.
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let worker: InProcessWorker;
let c: ReturnType<typeof client>;
const demo = trainDemoModels();

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '20', INFERENCE_THREADS: '1' });
  api = await startInProcessApi(env.config);
  worker = await startWorkerInProcess(env.env);
  const { key } = await createKey(env.pool, 'acme');
  c = client(api.url, key);
  for (const m of [demo.penguins, demo.cars]) expect((await c.registerModel(m.name, m.onnx, m.signature, m.metrics)).status).toBe(201);
});
afterAll(async () => {
  await worker?.close();
  await api?.close();
  await env?.close();
});

async function submit(model: string, csv: string | Uint8Array) {
  const res = await c.postCsv(`/v1/jobs?model=${encodeURIComponent(model)}`, csv);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(202);
  return c.waitForJob(body.id);
}
const results = async (id: string) => readCsv(await (await c.get(`/v1/jobs/${id}/results`)).text());

describe('CSV jobs end to end', () => {
  it('penguins: labels and probabilities equal onnxruntime run directly, ids echoed, input order kept', async () => {
    const job = await submit('penguins', demo.penguins.holdoutCsv);
    expect(job.status).toBe('completed');
    expect(job.rows).toMatchObject({ total: 68, succeeded: 68, failed: 0 });
    const got = await results(job.id);
    const input = readCsv(demo.penguins.holdoutCsv);
    const want = await scoreDirectly(demo.penguins.onnx, demo.penguins.signature, input, { output: 'probabilities' });
    expect(got.map((r) => r.row)).toEqual(input.map((_, i) => String(i + 1)));
    expect(got.map((r) => r.id)).toEqual(input.map((r) => r.id));
    got.forEach((r, i) => {
      const labels = demo.penguins.signature.labels!;
      const best = want[i].indexOf(Math.max(...want[i]));
      expect(r.prediction).toBe(labels[best]);
      labels.forEach((l, k) => expect(Number(r[`probability_${l}`])).toBeCloseTo(want[i][k], 5));
      expect(r.error).toBe('');
    });
  });

  it('cars: regression values equal onnxruntime run directly; NDJSON and JSON pages agree with CSV', async () => {
    const job = await submit('cars', demo.cars.holdoutCsv);
    const input = readCsv(demo.cars.holdoutCsv);
    const want = await scoreDirectly(demo.cars.onnx, demo.cars.signature, input, { output: 'variable' });
    const got = await results(job.id);
    expect(input.length).toBeGreaterThan(0);
    expect(got).toHaveLength(input.length);
    got.forEach((r, i) => expect(Number(r.prediction)).toBeCloseTo(want[i][0], 3));
    const nd = (await (await c.get(`/v1/jobs/${job.id}/results?format=ndjson`)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(nd.map((r) => r.prediction)).toEqual(got.map((r) => Number(r.prediction)));
    const page1 = await (await c.get(`/v1/jobs/${job.id}/results?format=json&limit=50`)).json();
    const page2 = await (await c.get(`/v1/jobs/${job.id}/results?format=json&limit=50&cursor=${page1.next_cursor}`)).json();
    expect([...page1.data, ...page2.data].map((r: { row: number }) => r.row)).toEqual(nd.map((r) => r.row));
    expect(page2.next_cursor).toBeNull();
  });

  it('a scikit-learn style classifier ending in ZipMap with int64 labels gives label and probabilities', async () => {
    const w = fixedWeights(3, 4, 5);
    const b = [0.1, -0.2, 0.05];
    const onnx = sklearnStyleClassifier(w, b, { labels: [10, 20, 30], batchDim: '' });
    const sig = { columns: ['a', 'b', 'c', 'd'], task: 'classification', passthrough: ['key'] };
    const reg = await c.registerModel('skl', onnx, sig);
    const version = await reg.json();
    expect(reg.status, JSON.stringify(version)).toBe(201);
    expect(version.rewrites.join(' ')).toMatch(/ZipMap/);
    const rows = Array.from({ length: 45 }, (_, i) => ({ key: `k${i}`, a: String(i % 7), b: String((i * 3) % 5 - 2), c: String(i / 10), d: String(-i) }));
    const csv = 'key,a,b,c,d\n' + rows.map((r) => `${r.key},${r.a},${r.b},${r.c},${r.d}`).join('\n');
    const job = await submit('skl', csv);
    const got = await results(job.id);
    const plain = sklearnStyleClassifier(w, b, { labels: [10, 20, 30], batchDim: '', zipmap: false });
    const want = await scoreDirectly(plain, sig as never, rows, { output: 'output_probability' });
    expect(got).toHaveLength(rows.length);
    got.forEach((r, i) => {
      const best = want[i].indexOf(Math.max(...want[i]));
      expect(r.prediction).toBe(String([10, 20, 30][best]));
      [10, 20, 30].forEach((l, k) => expect(Number(r[`probability_${l}`])).toBeCloseTo(want[i][k], 5));
      expect(r.key).toBe(`k${i}`);
    });
  });

  it('an NHWC image model takes 784 pixel columns reshaped to [28, 28, 1]', async () => {
    const onnx = nhwcImageModel({ classes: 10 });
    const columns = Array.from({ length: 784 }, (_, i) => `p${i}`);
    const sig = { columns, shape: [28, 28, 1], scale: 1 / 255, task: 'classification', labels: Array.from({ length: 10 }, (_, i) => `digit${i}`) };
    expect((await c.registerModel('mnist', onnx, sig)).status).toBe(201);
    const rows = Array.from({ length: 25 }, (_, r) => Object.fromEntries(columns.map((col, i) => [col, String((r * 13 + i * 7) % 256)])));
    const csv = columns.join(',') + '\n' + rows.map((r) => columns.map((col) => r[col]).join(',')).join('\n') + '\n';
    const job = await submit('mnist', csv);
    expect(job.rows.succeeded, JSON.stringify(job) + (await (await c.get(`/v1/jobs/${job.id}/results?format=json&limit=2`)).text())).toBe(25);
    const got = await results(job.id);
    const want = await scoreDirectly(onnx, sig as never, rows, { output: 'probabilities', shape: [28, 28, 1] });
    expect(got).toHaveLength(rows.length);
    got.forEach((r, i) => sig.labels.forEach((l, k) => expect(Number(r[`probability_${l}`])).toBeCloseTo(want[i][k], 5)));
  });

  it('bad rows fail alone: non-numeric, missing and ragged rows get errors, the rest are scored', async () => {
    const lines = demo.penguins.holdoutCsv.trim().split('\n');
    const header = lines[0];
    const data = lines.slice(1, 41);
    data[2] = '999,abc,17.8,193,3800,Chinstrap'; // row 3: non-numeric
    data[10] = '998,46.6,,193,3800,Chinstrap'; // row 11: missing under "error"
    data[25] = '997,46.6,17.8'; // row 26: ragged
    data[39] = '996,46.6,17.8,193,3800,Adelie,extra'; // row 40: ragged
    const job = await submit('penguins', [header, ...data].join('\r\n'));
    expect(job.status).toBe('completed');
    expect(job.rows).toMatchObject({ total: 40, succeeded: 36, failed: 4 });
    const got = await results(job.id);
    expect(got).toHaveLength(40);
    expect(got.filter((r) => r.error).map((r) => Number(r.row))).toEqual([3, 11, 26, 40]);
    expect(got[2].error).toMatch(/Beak Length.*abc|abc.*Beak Length/);
    expect(got[10].error).toMatch(/Beak Depth/);
    expect(got[25].error).toMatch(/field/);
  });

  it('reads the CSV dialect: BOM, CRLF, quoted delimiters/quotes/newlines, blank lines, padded header names', async () => {
    const csv =
      '\uFEFF id , "Beak Length (mm)",Beak Depth (mm),Flipper Length (mm),Body Mass (g)\r\n' +
      '"a,1",46.6,17.8,193,3800\r\n' +
      '\r\n' +
      '"b ""quoted""",41.1,19.1,188,4100\n' +
      '"c\nmultiline",50,15,220,5000\n\n';
    const job = await submit('penguins', csv);
    expect(job.rows).toMatchObject({ total: 3, succeeded: 3, failed: 0 });
    const got = await results(job.id);
    expect(got.map((r) => r.id)).toEqual(['a,1', 'b "quoted"', 'c\nmultiline']);
    expect(got.map((r) => r.row)).toEqual(['1', '2', '3']);
  });

  it('accepts multipart uploads with fields before the file, a ";" delimiter, and idempotency keys', async () => {
    const csv = demo.penguins.holdoutCsv.replace(/,/g, ';');
    const form = new FormData();
    form.set('model', 'penguins:1');
    form.set('delimiter', ';');
    form.set('idempotency_key', 'upload-1');
    form.set('file', new Blob([csv], { type: 'text/csv' }), 'p.csv');
    const first = await c.post('/v1/jobs', form);
    const a = await first.json();
    expect(first.status, JSON.stringify(a)).toBe(202);
    const again = new FormData();
    for (const [k, v] of form.entries()) again.set(k, v);
    const second = await c.post('/v1/jobs', again);
    expect(second.status).toBe(200);
    expect((await second.json()).id).toBe(a.id);
    const job = await c.waitForJob(a.id);
    expect(job.rows.succeeded).toBe(68);
    expect(job.model).toEqual({ name: 'penguins', version: 1 });
  });
});

describe('single predictions', () => {
  it('answers inline with wait, including probabilities and passthrough', async () => {
    const rec = readCsv(demo.penguins.holdoutCsv)[0];
    const res = await c.postJson('/v1/predictions', { model: 'penguins', inputs: [rec, { ...rec, 'Body Mass (g)': null }], wait: 10 });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe('completed');
    const want = await scoreDirectly(demo.penguins.onnx, demo.penguins.signature, [rec], { output: 'probabilities' });
    expect(body.predictions[0].passthrough).toEqual({ id: rec.id });
    expect(body.predictions[0].prediction).toBe(rec.Species);
    expect(body.predictions[0].probabilities[rec.Species]).toBeCloseTo(Math.max(...want[0]), 5);
    expect(body.predictions[1].error).toMatch(/Body Mass/);
  });

  it('without wait answers 202 with the job link, and the job completes', async () => {
    const rec = readCsv(demo.cars.holdoutCsv)[0];
    const res = await c.postJson('/v1/predictions', { model: 'cars', inputs: [rec] });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.links.self).toBe(`${api.url}/v1/jobs/${body.id}`);
    expect((await c.waitForJob(body.id)).rows.succeeded).toBe(1);
  });
});

describe('job listing', () => {
  it('lists newest first, filters by status, pages with a cursor, and shows only the caller’s jobs', async () => {
    const all = await (await c.get('/v1/jobs?limit=200')).json();
    expect(all.data.length).toBeGreaterThanOrEqual(8);
    const created = all.data.map((j: { created_at: string }) => j.created_at);
    expect([...created].sort().reverse()).toEqual(created);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: { id: string }[]; next_cursor: string | null } = await (await c.get(`/v1/jobs?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).json();
      seen.push(...page.data.map((j) => j.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.data.map((j: { id: string }) => j.id));
    const completed = await (await c.get('/v1/jobs?status=completed&limit=200')).json();
    expect(completed.data.every((j: { status: string }) => j.status === 'completed')).toBe(true);
    expect(completed.data.length).toBeGreaterThan(0);
    const stranger = client(api.url, (await createKey(env.pool, 'stranger')).key);
    expect((await (await stranger.get('/v1/jobs')).json()).data).toEqual([]);
  });
});
