import { describe, expect, it } from 'vitest';
import { argmax, postprocess, softmaxOf, type OutputTensor } from '../../src/inference/postprocess.js';

const t = (type: string, data: unknown, dims: number[]): OutputTensor => ({ type, data, dims });
const arr = (x: ArrayLike<number> | null) => (x ? Array.from(x) : x);

describe('classification from probabilities', () => {
  it('argmax gives the class index; scores are the row’s probabilities', () => {
    const out = postprocess({ p: t('float32', Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.25, 0.25]), [2, 3]) }, { probabilities: 'p' }, 'classification', 2);
    expect(out.map((r) => r.value)).toEqual([1, 0]);
    expect(arr(out[0].scores)).toEqual(Array.from(Float32Array.from([0.1, 0.7, 0.2])));
  });

  it('applies softmax to logits when the plan says so', () => {
    const out = postprocess({ z: t('float32', Float32Array.from([1, 2, 3]), [1, 3]) }, { probabilities: 'z', softmax: true }, 'classification', 1);
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const s = e[0] + e[1] + e[2];
    const scores = arr(out[0].scores)!;
    scores.forEach((v, j) => expect(v).toBeCloseTo(e[j] / s, 12));
    expect(out[0].value).toBe(2);
  });

  it('softmax survives huge logits', () => {
    const p = softmaxOf([1000, 1001]);
    expect(p[0] + p[1]).toBeCloseTo(1, 12);
    expect(p[1]).toBeGreaterThan(p[0]);
  });

  it('reads float64 probabilities', () => {
    const out = postprocess({ p: t('float64', Float64Array.from([0.4, 0.6]), [1, 2]) }, { probabilities: 'p' }, 'classification', 1);
    expect(out[0].value).toBe(1);
    expect(arr(out[0].scores)).toEqual([0.4, 0.6]);
  });

  it('an all-NaN row becomes a row error, not class 0', () => {
    expect(argmax([NaN, NaN])).toBe(-1);
    expect(argmax([NaN, 0.2, 0.9])).toBe(2);
    const out = postprocess({ p: t('float32', Float32Array.from([NaN, NaN, 0.3, 0.7]), [2, 2]) }, { probabilities: 'p' }, 'classification', 2);
    expect(out[0].error).toMatch(/NaN/);
    expect(out[1]).toEqual({ value: 1, scores: expect.anything() });
  });

  it('refuses an output whose batch does not match the rows', () => {
    expect(() => postprocess({ p: t('float32', new Float32Array(6), [3, 2]) }, { probabilities: 'p' }, 'classification', 2)).toThrow(/do not match a batch of 2/);
    expect(() => postprocess({}, { probabilities: 'p' }, 'classification', 1)).toThrow(/no output "p"/);
  });
});

describe('classification from a label output', () => {
  it('int64 labels are looked up in plan.labels', () => {
    const out = postprocess({ l: t('int64', BigInt64Array.from([7n, 3n]), [2]) }, { label: 'l', labels: ['3', '5', '7'] }, 'classification', 2);
    expect(out.map((r) => r.value)).toEqual([2, 0]);
    expect(out[0].scores).toBeNull();
  });

  it('int64 labels are the index when there are no labels', () => {
    const out = postprocess({ l: t('int64', BigInt64Array.from([4n, 0n]), [2]) }, { label: 'l' }, 'classification', 2);
    expect(out.map((r) => r.value)).toEqual([4, 0]);
  });

  it('string labels map to their index; unknown ones are row errors', () => {
    const out = postprocess({ l: t('string', ['dog', 'cat', 'eel'], [3]) }, { label: 'l', labels: ['cat', 'dog'] }, 'classification', 3);
    expect(out.map((r) => r.value)).toEqual([1, 0, null]);
    expect(out[2].error).toMatch(/"eel"/);
  });

  it('prefers probabilities when both outputs exist', () => {
    const out = postprocess(
      { l: t('int64', BigInt64Array.from([0n]), [1]), p: t('float32', Float32Array.from([0.2, 0.8]), [1, 2]) },
      { label: 'l', probabilities: 'p' },
      'classification',
      1,
    );
    expect(out[0].value).toBe(1);
  });
});

describe('regression and raw', () => {
  it('regression takes the single value per row from [N] or [N, 1]', () => {
    const a = postprocess({ y: t('float32', Float32Array.from([1.5, -2]), [2, 1]) }, { value: 'y' }, 'regression', 2);
    expect(a.map((r) => r.value)).toEqual([1.5, -2]);
    const b = postprocess({ y: t('float64', Float64Array.from([0.1]), [1]) }, { value: 'y' }, 'regression', 1);
    expect(b[0]).toEqual({ value: 0.1, scores: null });
    expect(() => postprocess({ y: t('float32', new Float32Array(4), [2, 2]) }, { value: 'y' }, 'regression', 2)).toThrow(/2 values per row/);
  });

  it('regression reads int64 outputs', () => {
    const out = postprocess({ y: t('int64', BigInt64Array.from([5n]), [1, 1]) }, { value: 'y' }, 'regression', 1);
    expect(out[0].value).toBe(5);
  });

  it('raw returns each row’s flattened output', () => {
    const out = postprocess({ y: t('float32', Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [2, 2, 2]) }, { value: 'y' }, 'raw', 2);
    expect(out.map((r) => arr(r.scores))).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    expect(out[0].value).toBeNull();
  });
});
