import { describe, expect, it } from 'vitest';
import { ResultFormatter } from '../../src/results/formatResults.js';
import { SignatureSchema } from '../../src/models/signature.js';
import type { RunPlan } from '../../src/models/types.js';

// Regression values stored before the thread kept float32 outputs shortest (the raw float32 as a
// double) print shortest too, when the version's io says the output is float32; float64 outputs
// print as JavaScript prints them.
describe('ResultFormatter regression values', () => {
  const signature = SignatureSchema.parse({ columns: ['a'], task: 'regression' });
  const plan: RunPlan = { input: 'x', inputType: 'float32', inputShape: [-1, 1], maxBatch: null, value: 'y' };
  const row = (value: number) => ({ row_no: 1, value, scores: null, passthrough: null, error: null });

  it('a float32 output prints its shortest decimal, whether stored raw or already shortest', () => {
    const fmt = new ResultFormatter(signature, plan, [{ name: 'y', type: 'float32', dims: ['N', 1] }]);
    expect(fmt.json(row(Math.fround(3.12))).prediction).toBe(3.12);
    expect(fmt.json(row(3.12)).prediction).toBe(3.12);
    expect(fmt.csvRow(row(Math.fround(-7.3)), null)).toEqual(['1', '-7.3', '']);
  });

  it('a float64 output (or an unknown type) prints as it is', () => {
    expect(new ResultFormatter(signature, plan, [{ name: 'y', type: 'float64', dims: ['N', 1] }]).json(row(Math.fround(3.12))).prediction).toBe(3.119999885559082);
    expect(new ResultFormatter(signature, plan).json(row(Math.fround(3.12))).prediction).toBe(3.119999885559082);
  });
});
