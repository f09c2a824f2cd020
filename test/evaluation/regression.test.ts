import { describe, expect, it } from 'vitest';
import { createEvaluator, type Scored } from '../../src/evaluation/evaluator.js';
import { mergeEvalPartials, type EvalPartial } from '../../src/evaluation/partial.js';
import { evaluationReport, type RegressionEvaluation } from '../../src/evaluation/report.js';
import { EvaluationSchema } from '../../src/evaluation/schemas.js';
import { expectClose, expectSameReport, mergeOrders, randomSplits, rng } from './helpers.js';

type Row = [label: string | null, pred: Scored | null];

function evaluate(rows: Row[], decimal: '.' | ',' = '.', missing?: string[]): EvalPartial {
  const ev = createEvaluator({ task: 'regression', decimal }, missing);
  for (const [l, p] of rows) ev.add(l, p);
  return ev.partial();
}

function report(rows: Row[], decimal: '.' | ',' = '.', missing?: string[]): RegressionEvaluation {
  const r = evaluationReport(evaluate(rows, decimal, missing), null);
  if (r.task !== 'regression') throw new Error('expected a regression report');
  return r;
}

const val = (v: number | null): Scored => ({ value: v, scores: null });

/** Residuals (label − prediction) of a report's rows, to check each against its bin. */
function inBin(r: number, bin: { from: number | null; to: number | null }): boolean {
  if (bin.from === 0 && bin.to === 0) return r === 0;
  if (r > 0) return bin.from !== null && bin.from >= 0 && r >= bin.from && (bin.to === null || r < bin.to);
  return bin.to !== null && bin.to <= 0 && r <= bin.to && (bin.from === null || r > bin.from) && r !== 0;
}

describe('regression figures', () => {
  it('equal a direct two-pass computation (R² = 1 − SSE/SS_tot), with bad labels counted and left out', () => {
    const rand = rng(21);
    const rows: Row[] = [];
    const kept: { y: number; p: number }[] = [];
    let missing = 0;
    let unknown = 0;
    let unscored = 0;
    for (let i = 0; i < 20_000; i++) {
      // Labels far from 0 with a small spread: the case where a one-pass Σy² − n·ȳ² would cancel.
      const y = 1e6 + rand() * 10;
      const p = y + (rand() - 0.5) * 2 + (i % 50 === 0 ? 0 : 0.1);
      const u = rand();
      if (u < 0.02) {
        rows.push([[null, '', ' NaN ', 'null'][i % 4], val(p)]);
        missing++;
      } else if (u < 0.04) {
        rows.push([['abc', '1,5', '0x10', 'Infinity', '1e999'][i % 5], val(p)]);
        unknown++;
      } else if (u < 0.05) {
        rows.push([String(y), [null, val(null), val(NaN)][i % 3]]);
        unscored++;
      } else {
        rows.push([i % 2 ? String(y) : ` ${y.toExponential()} `, val(p)]);
        kept.push({ y, p });
      }
    }
    const r = report(rows);
    expect(EvaluationSchema.parse(r)).toEqual(r);
    expect([r.rows_evaluated, r.missing_label, r.unknown_label, r.unscored]).toEqual([kept.length, missing, unknown, unscored]);
    expect(r.unknown_label_examples).toEqual(['0x10', '1,5', '1e999', 'Infinity', 'abc']);

    const n = kept.length;
    let sse = 0;
    let sae = 0;
    let sr = 0;
    let sy = 0;
    for (const { y, p } of kept) {
      sse += (y - p) ** 2;
      sae += Math.abs(y - p);
      sr += y - p;
      sy += y;
    }
    const mean = sy / n;
    let ssTot = 0;
    for (const { y } of kept) ssTot += (y - mean) ** 2;
    expectClose(r.rmse, Math.sqrt(sse / n));
    expectClose(r.mae, sae / n);
    expectClose(r.r2, 1 - sse / ssTot);
    // The mean residual is near 0: compare at the residuals' scale.
    expectClose(r.mean_residual, sr / n, sae / n);

    expect(r.residual_histogram.reduce((s, b) => s + b.count, 0)).toBe(r.rows_evaluated);
    for (const bin of r.residual_histogram) expect(kept.filter(({ y, p }) => inBin(y - p, bin)).length).toBe(bin.count);
    const froms = r.residual_histogram.map((b) => b.from ?? -Infinity);
    expect(froms).toEqual([...froms].sort((a, b) => a - b));
  });

  it('give the same report however the rows are split into chunks and the chunks merged', () => {
    const rand = rng(5);
    const rows: Row[] = Array.from({ length: 4000 }, (_, i) => {
      const y = (rand() - 0.3) * 1000;
      if (i % 71 === 0) return ['n/a', val(1)];
      if (i % 73 === 0) return [`bad ${i}`, val(1)];
      if (i % 79 === 0) return [String(y), null];
      return [String(y), val(y + (rand() - 0.5) * 10 ** (rand() * 6 - 3))];
    });
    const whole = evaluationReport(evaluate(rows), null);
    for (let trial = 0; trial < 5; trial++) {
      const parts = randomSplits(rows.length, rand, 2 + trial * 5).map(([a, b]) => evaluate(rows.slice(a, b)));
      for (const merged of mergeOrders(parts, mergeEvalPartials, rand)) expectSameReport(evaluationReport(merged, null), whole);
    }
  });

  it('reads labels with a decimal comma when the upload uses one', () => {
    const r = report(
      [
        ['3,5', val(3)],
        [' -2,5e1 ', val(-25)],
        ['+4', val(4)],
        ['1.234', val(1)],
        ['1,2,3', val(1)],
      ],
      ',',
    );
    expect(r.rows_evaluated).toBe(3);
    expect(r.unknown_label).toBe(2);
    expectClose(r.mae, 0.5 / 3);
    expectClose(r.mean_residual, 0.5 / 3);
    expect(r.residual_histogram.find((b) => b.from === 0 && b.to === 0)?.count).toBe(2);
  });

  it('has fixed bins: exactly 0 alone, tiny and huge residuals in the end bins, negatives mirrored', () => {
    const r = report([
      ['5', val(5)],
      ['1e-9', val(0)],
      ['-1e-9', val(0)],
      ['1e13', val(0)],
      ['-1e13', val(0)],
      ['1', val(0)],
      ['0', val(1)],
      ['1.5', val(0)],
    ]);
    expect(r.residual_histogram).toEqual([
      { from: null, to: -(2 ** 40), count: 1 },
      { from: -Math.SQRT2, to: -1, count: 1 },
      { from: -(2 ** -20), to: 0, count: 1 },
      { from: 0, to: 0, count: 1 },
      { from: 0, to: 2 ** -20, count: 1 },
      { from: 1, to: 2 ** 0.5, count: 1 },
      { from: 2 ** 0.5, to: 2, count: 1 },
      { from: 2 ** 40, to: null, count: 1 },
    ]);
  });

  it('puts every power of two on the bin that starts at it', () => {
    for (let k = -20; k < 40; k++) {
      const x = 2 ** k;
      const [bin] = report([[String(x), val(0)]]).residual_histogram;
      expect(bin.from).toBe(x);
      const [neg] = report([[String(-x), val(0)]]).residual_histogram;
      expect(neg.to).toBe(-x);
    }
  });

  it('bins a residual on an edge into the bin that starts there, and the double just below it into the bin before', () => {
    const below = (x: number) => {
      const v = new DataView(new ArrayBuffer(8));
      v.setFloat64(0, x);
      v.setBigUint64(0, v.getBigUint64(0) - 1n);
      return v.getFloat64(0);
    };
    // Walk every edge: each bin's `to` is the next bin's `from`, computed as the evaluator sees it.
    let edge = report([['1e-6', val(0)]]).residual_histogram[0].to!;
    for (let step = 0; step < 119; step++) {
      const [at] = report([[String(edge), val(0)]]).residual_histogram;
      expect(at.from).toBe(edge);
      const [under] = report([[String(below(edge)), val(0)]]).residual_histogram;
      expect(under.to).toBe(edge);
      edge = at.to!;
    }
    expect(report([[String(edge), val(0)]]).residual_histogram[0]).toEqual({ from: edge, to: null, count: 1 });
  });

  it('gives R² null when the labels do not vary, and null figures when no row was evaluated', () => {
    const flat = report([
      ['2', val(1)],
      ['2', val(3)],
    ]);
    expect(flat.r2).toBeNull();
    expectClose(flat.rmse, 1);
    const none = report([
      ['x', val(1)],
      ['', val(1)],
      ['1', null],
    ]);
    expect(none).toMatchObject({ rows_evaluated: 0, unknown_label: 1, missing_label: 1, unscored: 1, rmse: null, mae: null, r2: null, mean_residual: null, residual_histogram: [] });
    expect(JSON.parse(JSON.stringify(none))).toEqual(none);
  });

  it('takes the missing-value texts given', () => {
    const r = report(
      [
        ['-999', val(1)],
        ['NA', val(1)],
        ['1', val(1)],
      ],
      '.',
      ['-999'],
    );
    expect([r.missing_label, r.unknown_label, r.rows_evaluated]).toEqual([1, 1, 1]);
  });
});
