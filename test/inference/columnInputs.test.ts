import { describe, expect, it } from 'vitest';
import { createInputsPreprocessor } from '../../src/inference/columnInputs.js';
import { columnIndex, createPreprocessor } from '../../src/inference/preprocess.js';
import type { PlanInput } from '../../src/models/types.js';

const input = (name: string, type: PlanInput['type'], extra: Partial<PlanInput> = {}): PlanInput => ({ name, type, shape: [1], columns: [name], missing: 'error', ...extra });

describe('per-input cell rules', () => {
  const inputs = [input('n', 'int64'), input('s', 'string'), input('f', 'float32', { missing: 'nan' }), input('b', 'bool'), input('i', 'int32', { missing: { fill: 7 } })];
  const pre = createInputsPreprocessor(inputs);
  const header = ['B', 'f', 'n', 's', 'i', 'extra'];
  const map = columnIndex(header, { columns: pre.columns, passthrough: [] });

  it('integers: "3" and "3.0" are 3, "3.5" is a row error naming column and value', () => {
    const r = pre.csv([['true', '1', '3', 'a', '1', ''], ['1', '1', '3.0', 'a', '1', ''], ['0', '1', '3.5', 'a', '1', '']], map);
    expect(r.valid).toEqual([0, 1]);
    expect(Array.from(r.data[0] as BigInt64Array)).toEqual([3n, 3n]);
    expect(r.errors[2]).toBe('column "n": 3.5 is not a valid int64');
  });

  it('strings as written ("3.0", "NA", quotes, newlines); empty is missing', () => {
    const r = pre.csv([['1', '1', '1', '3.0', '1', ''], ['1', '1', '1', 'NA', '1', ''], ['1', '1', '1', 'a, "b"\nc', '1', ''], ['1', '1', '1', '  ', '1', '']], map);
    expect(r.data[1]).toEqual(['3.0', 'NA', 'a, "b"\nc']);
    expect(r.errors[3]).toBe('column "s" is missing');
  });

  it('floats: "nan" policy passes NaN; ints: a fill; bools: true/false/1/0 any case', () => {
    const r = pre.csv([['TRUE', '', '1', 'a', '', ''], ['False', 'NA', '1', 'a', '2', ''], ['yes', '1', '1', 'a', '1', '']], map);
    expect(Array.from(r.data[2] as Float32Array)).toEqual([NaN, NaN]);
    expect(Array.from(r.data[3] as Uint8Array)).toEqual([1, 0]);
    expect(Array.from(r.data[4] as Int32Array)).toEqual([7, 2]);
    expect(r.errors[2]).toBe('column "b": "yes" is not a bool (true, false, 1 or 0)');
  });

  it('JSON: a number given to a string input is its decimal text', () => {
    const r = pre.json([{ n: 3, s: 3, f: 1.5, b: 1, i: null }, { n: '4', s: 0.1, f: null, b: 'true', i: 1 }, { n: 1, s: { x: 1 }, f: 1, b: 0, i: 1 }]);
    expect(r.data[1]).toEqual(['3', '0.1']);
    expect(Array.from(r.data[0] as BigInt64Array)).toEqual([3n, 4n]);
    expect(r.errors[2]).toMatch(/column "s": .* is not a text/);
  });

  it('string fill for string inputs', () => {
    const p = createInputsPreprocessor([input('s', 'string', { missing: { fill: 'unknown' } })]);
    expect(p.json([{ s: null }, {}, { s: 'x' }]).data[0]).toEqual(['unknown', 'unknown', 'x']);
    expect(p.numbers).toBeUndefined();
  });

  it('numeric-only inputs take the numeric fast path cells; a column feeding two inputs', () => {
    const p = createInputsPreprocessor([input('a', 'float32', { columns: ['x', 'y'], shape: [2] }), input('b', 'int64', { columns: ['y'] })]);
    expect(p.columns).toEqual(['x', 'y']);
    const r = p.numbers!(Float64Array.from([1, 2, NaN, 4]), 2, new Map([[2, ' 3.0 ']]));
    expect(Array.from(r.data[0] as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(Array.from(r.data[1] as BigInt64Array)).toEqual([2n, 4n]);
  });
});

describe('the one-input road', () => {
  it('"missing": "nan" hands NaN to a float input', () => {
    const p = createPreprocessor({ columns: ['a', 'b'], missing: 'nan' }, { inputShape: [-1, 2], inputType: 'float32' });
    const r = p.json([{ a: 1, b: null }]);
    expect(Array.from(r.data as Float32Array)).toEqual([1, NaN]);
    expect(r.valid).toEqual([0]);
  });
});
