// Issue 12 items 12 and 17 at the thread: a failed row's result carries its record as uploaded
// (row for row, across slices, on every parse road), and a float32 regression value is stored as
// its shortest decimal.
import { afterAll, describe, expect, it } from 'vitest';
import { runInference } from '../../src/inference/thread.js';
import { postprocess } from '../../src/inference/postprocess.js';
import { decodeResultRows } from '../../src/results/resultRows.js';
import type { PartResult } from '../../src/inference/thread.js';
import { csvPart, jsonPart, removeModels, task } from './modelFixtures.js';

afterAll(removeModels);

const failed = (part: PartResult) =>
  decodeResultRows({ first_row: 1, row_count: part.succeeded + part.failed, rows: part.rows, error: null }, { only: 'errors', records: true }).map((r) => [
    r.row_no,
    r.record && Buffer.from(r.record).toString('utf8'),
  ]);

describe("a failed row's raw record", () => {
  it('comes with the row on the numeric fast path and across slices; successful rows carry none', async () => {
    // 700 rows (slices of 256): every 97th fails on a text cell.
    const lines = Array.from({ length: 700 }, (_, i) => (i % 97 === 5 ? `id${i},x${i},2,3,4` : `id${i},${i % 9},2,3,4`));
    const result = await runInference(task([csvPart(lines)], { batchSize: 64 }));
    const want = lines.flatMap((l, i) => (i % 97 === 5 ? [[i + 1, l]] : []));
    expect(failed(result.parts[0])).toEqual(want);
    const all = decodeResultRows({ first_row: 1, row_count: 700, rows: result.parts[0].rows, error: null }, { only: 'scored', records: true });
    expect(all.every((r) => r.record === undefined)).toBe(true);
  });

  it('comes with the row when records are quoted (record slices, general parser), ragged or malformed', async () => {
    const lines = Array.from({ length: 600 }, (_, i) => {
      if (i === 300) return '"multi\nline",1,2,3';
      if (i === 301) return 'bad,1,2"x"y,3,4';
      if (i === 599) return '"quoted, id",1,oops,3,4';
      return `"q${i}",1,2,3,4`;
    });
    const result = await runInference(task([csvPart(lines)], { batchSize: 64 }));
    expect(failed(result.parts[0])).toEqual([[301, '"multi\nline",1,2,3'], [302, 'bad,1,2"x"y,3,4'], [600, '"quoted, id",1,oops,3,4']]);
  });

  it('is the JSON record for JSON parts', async () => {
    const result = await runInference(task([jsonPart([{ f1: 1, f2: 2, f3: 3, f4: 4, id: 'a' }, { f1: 'nope', f2: 2, f3: 3, f4: 4, id: 'b' }])]));
    expect(failed(result.parts[0])).toEqual([[2, '{"f1":"nope","f2":2,"f3":3,"f4":4,"id":"b"}']]);
  });
});

describe('float32 regression values', () => {
  it('are stored as their shortest decimal (the same float32), float64 values as they are', () => {
    const f32 = postprocess({ y: { type: 'float32', dims: [3, 1], data: Float32Array.from([3.12, 0.1, -7.3]) } }, { value: 'y' }, 'regression', 3);
    expect(f32.map((p) => p.value)).toEqual([3.12, 0.1, -7.3]);
    f32.forEach((p, i) => expect(Math.fround(p.value!)).toBe(Float32Array.from([3.12, 0.1, -7.3])[i]));
    const f64 = postprocess({ y: { type: 'float64', dims: [1], data: Float64Array.from([Math.fround(3.12)]) } }, { value: 'y' }, 'regression', 1);
    expect(f64[0].value).toBe(3.119999885559082);
  });
});
