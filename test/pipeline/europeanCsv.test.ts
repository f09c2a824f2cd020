import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { startWorkerInProcess, type InProcessWorker } from '../helpers/worker.js';
import { readCsv } from './helpers.js';

// Files as spreadsheets export them: a decimal comma with ";" between cells, and the many ways of
// writing "no value" (N/A, #N/A, None, -), or a signature's own list of them.

let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let worker: InProcessWorker;
let c: ReturnType<typeof client>;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startInProcessApi(env.config);
  c = client(api.url, (await createKey(env.pool, 'acme')).key);
  // y = 1·a + 2·b
  expect((await c.registerModel('sum', linearRegression([1, 2], 0), { columns: ['a', 'b'], task: 'regression', passthrough: ['id'], missing: { fill: 100 } })).status).toBe(201);
  const own = { columns: ['a', 'b'], task: 'regression', passthrough: ['id'], missing: { fill: 100 }, missing_values: ['?', 'unknown'] };
  expect((await c.registerModel('own', linearRegression([1, 2], 0), own)).status).toBe(201);
  worker = await startWorkerInProcess(env.env, { INFERENCE_THREADS: '1' });
});
afterAll(async () => {
  await worker?.close();
  await api?.close();
  await env?.close();
});

const scored = async (path: string, csv: string) => {
  const res = await c.postCsv(path, csv);
  expect(res.status, await res.clone().text()).toBe(202);
  const job = await c.waitForJob((await res.json()).id);
  return readCsv(await (await c.get(`/v1/jobs/${job.id}/results`)).text());
};

describe('European and spreadsheet CSVs', () => {
  it('decimal="," with delimiter=";" reads 1,5 as one and a half; a point is not a number there', async () => {
    const rows = await scored('/v1/jobs?model=sum&delimiter=%3B&decimal=%2C', 'id;a;b\n1;1,5;2\n2;-0,25;1e1\n3;1.234;0\n');
    expect(rows.map((r) => [r.id, r.prediction, r.error])).toEqual([
      ['1', '5.5', ''],
      ['2', '19.75', ''],
      ['3', '', 'line 4: column "a": "1.234" is not a number'],
    ]);
  });

  it('refuses decimal="," with comma-delimited cells', async () => {
    const res = await c.postCsv('/v1/jobs?model=sum&decimal=%2C', 'id,a,b\n1,1,2\n');
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toContain('delimiter=";"');
  });

  it('reads N/A, #N/A, None and - as missing by default, and a signature\'s own list instead when it gives one', async () => {
    const csv = 'id,a,b\n1,N/A,1\n2,#n/a,1\n3,None,1\n4,-,1\n5,?,1\n';
    const byDefault = await scored('/v1/jobs?model=sum', csv);
    expect(byDefault.map((r) => r.prediction)).toEqual(['102', '102', '102', '102', '']);
    const own = await scored('/v1/jobs?model=own', csv);
    expect(own.map((r) => r.prediction)).toEqual(['', '', '', '', '102']);
  });
});

describe('row errors', () => {
  it('name the line in the file as well as the row, past quoted newlines and blank lines', async () => {
    const rows = await scored('/v1/jobs?model=sum', 'id,a,b\n1,1,2\n\n"2\nsecond line",x,2\n3,1,2\n4,1\n');
    expect(rows.map((r) => [r.row, r.error])).toEqual([
      ['1', ''],
      ['2', 'line 4: column "a": "x" is not a number'],
      ['3', ''],
      ['4', 'line 7: expected 3 fields, got 2'],
    ]);
  });
});
