import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { apiForTenant, type ApiForTenant } from '../helpers/api.js';

// What the intake makes of a header before any row is accepted: names matched ignoring case and
// Unicode form, a duplicated column refused (which one to read would be a guess), a missing one
// named with the closest header name, and CR-only line ends read as line ends.

let t: ApiForTenant;
let c: ApiForTenant['c'];
const sig = { columns: ['Flipper Length (mm)', 'Body Mass (g)'], task: 'regression', passthrough: ['id'] };

beforeAll(async () => {
  t = await apiForTenant();
  c = t.c;
  expect((await c.registerModel('peng', linearRegression([1, 2], 0), sig)).status).toBe(201);
});
afterAll(() => t?.close());

describe('CSV headers', () => {
  it('accepts names that differ only in case', async () => {
    const res = await c.postCsv('/v1/jobs?model=peng', 'ID,flipper length (mm),BODY MASS (G)\n1,200,4000\n');
    expect(res.status).toBe(202);
    expect((await res.json()).rows.total).toBe(1);
  });

  it('refuses a column the model reads named twice: 422 duplicate_columns naming it', async () => {
    const res = await c.postCsv('/v1/jobs?model=peng', 'id,Flipper Length (mm),Body Mass (g),body mass (g)\n1,200,4000,4100\n');
    expect(res.status).toBe(422);
    const p = await res.json();
    expect(p.code).toBe('duplicate_columns');
    expect(p.duplicated).toEqual(['Body Mass (g)']);
  });

  it('names a missing column with the closest header name', async () => {
    const res = await c.postCsv('/v1/jobs?model=peng', 'id,Flipper Length mm,Body Mass (g)\n1,200,4000\n');
    expect(res.status).toBe(422);
    const p = await res.json();
    expect(p.code).toBe('missing_columns');
    expect(p.suggestions).toEqual({ 'Flipper Length (mm)': 'Flipper Length mm' });
    expect(p.detail).toContain('did you mean "Flipper Length mm"?');
  });

  it('reads CR-only line ends as line ends, not as one endless header', async () => {
    const res = await c.postCsv('/v1/jobs?model=peng', 'id,Flipper Length (mm),Body Mass (g)\r1,200,4000\r2,210,4100\r');
    expect(res.status).toBe(202);
    expect((await res.json()).rows.total).toBe(2);
  });
});
