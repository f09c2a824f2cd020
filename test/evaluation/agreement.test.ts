import { describe, expect, it } from 'vitest';
import { agreementReport, createAgreement, mergeAgreementPartials, type AgreementPartial } from '../../src/evaluation/agreement.js';
import { AgreementSummarySchema } from '../../src/evaluation/schemas.js';
import { PartialMismatchError } from '../../src/evaluation/errors.js';
import type { Scored } from '../../src/evaluation/evaluator.js';
import { expectClose, expectSameReport, mergeOrders, randomSplits, rng } from './helpers.js';

type Pair = [a: Scored | null, b: Scored | null];
const s = (v: number | null): Scored => ({ value: v, scores: null });

function agree(task: 'classification' | 'regression', pairs: Pair[]): AgreementPartial {
  const ag = createAgreement(task);
  for (const [a, b] of pairs) ag.add(a, b);
  return ag.partial();
}

describe('agreement of two classifiers', () => {
  const rand = rng(3);
  const pairs: Pair[] = Array.from({ length: 5000 }, (_, i) => {
    const a = Math.floor(rand() * 3);
    const b = rand() < 0.8 ? a : Math.floor(rand() * 4);
    if (i % 61 === 0) return [null, s(b)];
    if (i % 67 === 0) return [s(a), s(null)];
    return [s(a), s(b)];
  });
  const scored = pairs.filter(([a, b]) => a?.value != null && b?.value != null).map(([a, b]) => [a!.value!, b!.value!]);

  it('equals a direct count, over a square matrix when the two share their labels', () => {
    const labels = ['x', 'y', 'z', 'w'];
    const r = agreementReport(agree('classification', pairs), labels, [...labels]);
    expect(AgreementSummarySchema.parse(r)).toEqual(r);
    if (r.task !== 'classification') throw new Error('expected classification');
    expect(r.rows).toBe(scored.length);
    expect(r.unscored).toBe(pairs.length - scored.length);
    expectClose(r.agreement_rate, scored.filter(([a, b]) => a === b).length / scored.length);
    expect(r.disagreement_matrix.labels_a).toEqual(labels);
    expect(r.disagreement_matrix.labels_b).toEqual(labels);
    expect(r.disagreement_matrix.counts).toEqual([0, 1, 2, 3].map((a) => [0, 1, 2, 3].map((b) => scored.filter(([x, y]) => x === a && y === b).length)));
  });

  it('lists each model’s own classes when their labels differ', () => {
    const r = agreementReport(agree('classification', pairs), ['a0', 'a1', 'a2'], ['b0', 'b1', 'b2', 'b3']);
    if (r.task !== 'classification') throw new Error('expected classification');
    expect(r.disagreement_matrix.labels_a).toEqual(['a0', 'a1', 'a2']);
    expect(r.disagreement_matrix.labels_b).toEqual(['b0', 'b1', 'b2', 'b3']);
    expect(r.disagreement_matrix.counts.flat().reduce((x, y) => x + y, 0)).toBe(scored.length);
  });

  it('gives the same summary however the rows are split and merged', () => {
    const whole = agreementReport(agree('classification', pairs), null, null);
    for (let trial = 0; trial < 4; trial++) {
      const parts = randomSplits(pairs.length, rand, 3 + trial * 4).map(([x, y]) => agree('classification', pairs.slice(x, y)));
      for (const m of mergeOrders(parts, mergeAgreementPartials, rand)) expectSameReport(agreementReport(m, null, null), whole);
    }
  });
});

describe('agreement of two regressors', () => {
  const rand = rng(9);
  const pairs: Pair[] = Array.from({ length: 5000 }, (_, i) => {
    const a = (rand() - 0.5) * 10 ** Math.floor(rand() * 8);
    // Half the rows agree within float32 rounding, the rest differ visibly.
    const b = i % 2 ? Math.fround(a) : a + (rand() - 0.5) * 3;
    if (i % 53 === 0) return [s(a), null];
    if (i % 59 === 0) return [s(NaN), s(b)];
    return [s(a), s(b)];
  });
  const scored = pairs.filter(([a, b]) => Number.isFinite(a?.value) && Number.isFinite(b?.value)).map(([a, b]) => [a!.value!, b!.value!]);

  it('equals a direct computation', () => {
    const r = agreementReport(agree('regression', pairs), null, null);
    expect(AgreementSummarySchema.parse(r)).toEqual(r);
    if (r.task !== 'regression') throw new Error('expected regression');
    expect(r.rows).toBe(scored.length);
    expect(r.unscored).toBe(pairs.length - scored.length);
    const diffs = scored.map(([a, b]) => Math.abs(a - b));
    expectClose(r.agreement_rate, scored.filter(([a, b]) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a))).length / scored.length);
    expectClose(r.mean_absolute_difference, diffs.reduce((x, y) => x + y, 0) / diffs.length);
    expect(r.max_absolute_difference).toBe(Math.max(...diffs));
  });

  it('gives the same summary however the rows are split and merged', () => {
    const whole = agreementReport(agree('regression', pairs), null, null);
    for (let trial = 0; trial < 4; trial++) {
      const parts = randomSplits(pairs.length, rand, 3 + trial * 4).map(([x, y]) => agree('regression', pairs.slice(x, y)));
      for (const m of mergeOrders(parts, mergeAgreementPartials, rand)) expectSameReport(agreementReport(m, null, null), whole);
    }
  });

  it('shows nulls when no row was scored by both', () => {
    const r = agreementReport(agree('regression', [[s(1), null]]), null, null);
    expect(r).toEqual({ task: 'regression', rows: 0, unscored: 1, agreement_rate: null, mean_absolute_difference: null, max_absolute_difference: null });
    const c = agreementReport(agree('classification', [[null, s(1)]]), null, null);
    expect(c).toEqual({ task: 'classification', rows: 0, unscored: 1, agreement_rate: null, disagreement_matrix: { labels_a: [], labels_b: [], counts: [] } });
  });

  it('refuses to merge partials of different tasks', () => {
    expect(() => mergeAgreementPartials(agree('regression', []), agree('classification', []))).toThrow(PartialMismatchError);
  });
});
