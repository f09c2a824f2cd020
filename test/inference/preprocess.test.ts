import { describe, expect, it } from 'vitest';
import { SignatureSchema } from '../../src/models/signature.js';
import type { RunPlan } from '../../src/models/types.js';
import { ColumnMappingError, columnIndex, createPreprocessor, passthroughCsv, passthroughJson, rowShape } from '../../src/inference/preprocess.js';

const plan = (inputType: RunPlan['inputType'] = 'float32', inputShape = [-1, 2]): Pick<RunPlan, 'inputShape' | 'inputType'> => ({ inputType, inputShape });
const nums = (a: ArrayLike<number | bigint>) => Array.from(a as ArrayLike<number>);
const sig = (extra: Record<string, unknown> = {}) => SignatureSchema.parse({ columns: ['a', 'b'], task: 'regression', ...extra });

describe('columnIndex', () => {
  it('maps signature columns and passthrough to header positions, whatever the header order', () => {
    const map = columnIndex(['id', 'b', 'x', 'a'], sig({ passthrough: ['id', 'absent'] }));
    expect(map.features).toEqual([3, 1]);
    expect(map.passthrough).toEqual([0, -1]);
  });

  it('refuses a header without a signature column', () => {
    expect(() => columnIndex(['a', 'c'], sig())).toThrow(ColumnMappingError);
  });
});

describe('csv rows', () => {
  it('applies ((x*scale) − mean)/std per column, row-major, in the input type', () => {
    const p = createPreprocessor(sig({ scale: 2, mean: [1, 10], std: [2, 5] }), plan('float64'));
    const map = columnIndex(['b', 'a'], sig());
    const out = p.csv([['10', '3'], [' 20 ', '-0.5e1']], map);
    expect(out.data).toBeInstanceOf(Float64Array);
    // row 0: a=3 → (6−1)/2 = 2.5; b=10 → (20−10)/5 = 2. row 1: a=−5 → −5.5; b=20 → 6
    expect(nums(out.data)).toEqual([2.5, 2, -5.5, 6]);
    expect(out.valid).toEqual([0, 1]);
    expect(out.errors).toEqual([null, null]);
  });

  it('gives bad cells a row error and leaves them out of the tensor', () => {
    const p = createPreprocessor(sig(), plan());
    const map = columnIndex(['a', 'b'], sig());
    const out = p.csv([['1', '2'], ['abc', '2'], ['0x10', '1'], ['3', 'Infinity'], ['5', '6']], map);
    expect(out.valid).toEqual([0, 4]);
    expect(nums(out.data)).toEqual([1, 2, 5, 6]);
    expect(out.errors[1]).toBe('column "a": "abc" is not a number');
    expect(out.errors[2]).toBe('column "a": "0x10" is not a number');
    expect(out.errors[3]).toBe('column "b": "Infinity" is not a number');
  });

  it('treats empty, whitespace-only, NaN, NA and null cells as missing', () => {
    const p = createPreprocessor(sig({ missing: { fill: -1 } }), plan());
    const map = columnIndex(['a', 'b'], sig());
    const out = p.csv([['', '  '], ['NaN', 'na'], ['NULL', '7']], map);
    expect(out.valid).toEqual([0, 1, 2]);
    expect(nums(out.data)).toEqual([-1, -1, -1, -1, -1, 7]);
  });

  it('missing: error → row error naming the column', () => {
    const p = createPreprocessor(sig(), plan());
    const out = p.csv([['1', '']], columnIndex(['a', 'b'], sig()));
    expect(out.valid).toEqual([]);
    expect(out.data.length).toBe(0);
    expect(out.errors).toEqual(['column "b" is missing']);
  });

  it('missing: mean → the column sits on its mean (0 after normalisation)', () => {
    const p = createPreprocessor(sig({ missing: 'mean', scale: 10, mean: [4, 8], std: [2, 2] }), plan());
    const out = p.csv([['', '1']], columnIndex(['a', 'b'], sig()));
    expect(nums(out.data)).toEqual([0, 1]);
  });

  it('fill is a raw cell value and is normalised like one', () => {
    const p = createPreprocessor(sig({ missing: { fill: 3 }, mean: [1, 1], std: [2, 2] }), plan());
    const out = p.csv([['', '5']], columnIndex(['a', 'b'], sig()));
    expect(nums(out.data)).toEqual([1, 2]);
  });

  it('keeps the parser’s reason for unparseable rows', () => {
    const p = createPreprocessor(sig(), plan());
    const out = p.csv([null, ['1', '2']], columnIndex(['a', 'b'], sig()), ['unbalanced quote', null]);
    expect(out.errors).toEqual(['unbalanced quote', null]);
    expect(out.valid).toEqual([1]);
  });

  it('a value that overflows the input type after scaling is a row error, not Infinity', () => {
    const p = createPreprocessor(sig({ scale: 1e10 }), plan());
    const out = p.csv([['1e30', '1'], ['1', '1']], columnIndex(['a', 'b'], sig()));
    expect(out.valid).toEqual([1]);
    expect(out.errors[0]).toBe('column "a": the value after scaling is out of range for float32');
  });

  it('int64 inputs take whole numbers only', () => {
    const p = createPreprocessor(sig(), plan('int64'));
    const out = p.csv([['3', '-4'], ['1.5', '2']], columnIndex(['a', 'b'], sig()));
    expect(out.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(out.data as BigInt64Array)).toEqual([3n, -4n]);
    expect(out.errors[1]).toBe('column "a": 1.5 is not a valid int64');
  });

  it('int32 inputs reject values out of range', () => {
    const p = createPreprocessor(sig(), plan('int32'));
    const out = p.csv([['2147483648', '0'], ['7', '8']], columnIndex(['a', 'b'], sig()));
    expect(out.valid).toEqual([1]);
    expect(nums(out.data)).toEqual([7, 8]);
  });
});

describe('json records', () => {
  it('numbers as is, numeric strings parsed, null and absent are missing', () => {
    const p = createPreprocessor(sig({ missing: { fill: 0 }, std: [1, 2] }), plan());
    const out = p.json([{ a: 1.5, b: '4' }, { a: null }, { b: ' 6 ', extra: 'x' }]);
    expect(out.valid).toEqual([0, 1, 2]);
    expect(nums(out.data)).toEqual([1.5, 2, 0, 0, 0, 3]);
  });

  it('rejects non-numbers and non-objects per record', () => {
    const p = createPreprocessor(sig(), plan());
    const out = p.json([{ a: true, b: 1 }, [1, 2], { a: 'x', b: 1 }, { a: 1, b: 2 }, { a: 1, b: { v: 1 } }]);
    expect(out.valid).toEqual([3]);
    expect(out.errors[0]).toBe('column "a": true is not a number');
    expect(out.errors[1]).toBe('record is not an object');
    expect(out.errors[2]).toBe('column "a": "x" is not a number');
    expect(out.errors[4]).toBe('column "b": {"v":1} is not a number');
  });

  it('missing policy error applies to absent keys', () => {
    const p = createPreprocessor(sig(), plan());
    expect(p.json([{ a: 1 }]).errors).toEqual(['column "b" is missing']);
  });

  it('reads own properties only: __proto__, constructor and toString columns are missing unless the record has them', () => {
    const p = createPreprocessor(SignatureSchema.parse({ columns: ['__proto__', 'constructor'], task: 'regression' }), plan());
    expect(p.json([{}]).errors).toEqual(['column "__proto__" is missing']);
    // JSON.parse makes "__proto__" an own property, as the api's body parser does.
    const out = p.json([JSON.parse('{"__proto__": 1, "constructor": 2}')]);
    expect(out.errors).toEqual([null]);
    expect(nums(out.data)).toEqual([1, 2]);
    expect(passthroughJson({}, ['toString', 'constructor', '__proto__'])).toEqual([null, null, null]);
  });
});

describe('shapes and passthrough', () => {
  it('folds columns into the plan’s per-row shape', () => {
    expect(rowShape({ inputShape: [-1, 28, 28, 1] }, 784)).toEqual([28, 28, 1]);
    expect(rowShape({ inputShape: [-1] }, 1)).toEqual([]);
    expect(() => rowShape({ inputShape: [-1, 3] }, 4)).toThrow(/cannot hold 4/);
    const p = createPreprocessor(SignatureSchema.parse({ columns: ['a', 'b', 'c', 'd'], task: 'raw' }), { inputType: 'float32', inputShape: [-1, 2, 2] });
    expect(p.rowSize).toBe(4);
  });

  it('echoes passthrough cells, null where the header lacks the column', () => {
    const map = columnIndex(['id', 'a', 'b'], sig({ passthrough: ['id', 'nope'] }));
    expect(passthroughCsv(['r-1', '1', '2'], map)).toEqual(['r-1', null]);
    expect(passthroughCsv(null, map)).toEqual([null, null]);
    expect(passthroughCsv(['x'], columnIndex(['a', 'b'], sig()))).toBeNull();
    expect(passthroughJson({ id: 7, name: 'x' }, ['id', 'name', 'none'])).toEqual(['7', 'x', null]);
  });
});
