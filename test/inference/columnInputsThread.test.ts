import { afterAll, describe, expect, it } from 'vitest';
import { runInference } from '../../src/inference/thread.js';
import { prepareGraph } from '../../src/models/onnx.js';
import { planRun } from '../../src/models/plan.js';
import { SignatureSchema } from '../../src/models/signature.js';
import { DataType, encodeModel, node, tensorValue } from '../../scripts/train/export.js';
import { readRows, removeModels, writeModel } from './modelFixtures.js';

afterAll(removeModels);

// 1-D inputs ([N]) and a column feeding two inputs, on the thread: y = a + b, s passed through a
// string equality test so a wrong string would show.
const bytes = encodeModel({
  name: 'flat',
  input: [tensorValue('a', DataType.FLOAT, ['N']), tensorValue('b', DataType.FLOAT, ['N']), tensorValue('s', DataType.STRING, ['N'])],
  output: [tensorValue('y', DataType.FLOAT, ['N'])],
  node: [node('Add', ['a', 'b'], ['y'])],
});

describe('per-column plans on the thread', () => {
  it('feeds [N] inputs, one column to two inputs, in CSV and JSON parts', async () => {
    const signature = SignatureSchema.parse({ task: 'regression', missing: 'nan', inputs: { b: { columns: ['a'] }, s: { missing: { fill: '?' } } } });
    const r = planRun(signature, prepareGraph(bytes));
    if ('problems' in r) throw new Error(r.problems.join('; '));
    expect(r.plan.inputs!.map((i) => [i.name, i.shape, i.columns])).toEqual([['a', [], ['a']], ['b', [], ['a']], ['s', [], ['s']]]);
    const modelPath = writeModel('flat', bytes);
    const res = await runInference({
      modelPath, modelKey: 'flat@1', plan: r.plan, signature, executionProvider: 'cpu', intraOpThreads: 1, batchSize: 2,
      parts: [
        { rowCount: 3, header: ['s', 'A'], delimiter: ',', format: 'csv', payload: new TextEncoder().encode('x,1.5\n"q,\n",2\n,\n') },
        { rowCount: 2, header: [], delimiter: ',', format: 'json', records: [{ a: 4, s: 3 }, { a: '0.25' }] },
      ],
    });
    const values = (k: number) => readRows(res.parts[k]).map((row) => (row.error ? row.error : row.value));
    expect(values(0).slice(0, 2)).toEqual([3, 4]);
    expect(Number.isNaN(values(0)[2])).toBe(true);
    expect(values(1)).toEqual([8, 0.5]);
  });
});
