import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createEvaluator, type Scored } from '../../src/evaluation/evaluator.js';
import { PartialMismatchError } from '../../src/evaluation/errors.js';
import { mergeEvalPartials, type EvalPartial } from '../../src/evaluation/partial.js';
import { evaluationReport, type ClassificationEvaluation } from '../../src/evaluation/report.js';
import { EvaluationSchema } from '../../src/evaluation/schemas.js';
import { expectClose, expectSameReport, mergeOrders, randomSplits, rng } from './helpers.js';

type Row = [label: string | null, pred: Scored | null];

function evaluate(rows: Row[], labels: string[] | null, missing?: string[]): EvalPartial {
  const ev = createEvaluator({ task: 'classification', labels }, missing);
  for (const [l, p] of rows) ev.add(l, p);
  return ev.partial();
}

function report(rows: Row[], labels: string[] | null, missing?: string[]): ClassificationEvaluation {
  const r = evaluationReport(evaluate(rows, labels, missing), labels);
  if (r.task !== 'classification') throw new Error('expected a classification report');
  return r;
}

const cls = (k: number, scores: number[] | null = null): Scored => ({ value: k, scores });

describe('classification figures', () => {
  it("match scikit-learn's f1_score documentation example", () => {
    // sklearn.metrics.f1_score docs: y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1].
    const yTrue = [0, 1, 2, 0, 1, 2];
    const yPred = [0, 2, 1, 0, 0, 1];
    const r = report(
      yTrue.map((t, i) => [String(t), cls(yPred[i])]),
      null,
    );
    expect(r.macro_f1).toBe(0.26666666666666666);
    expect(r.weighted_f1).toBe(0.26666666666666666);
    expect(r.accuracy).toBe(0.3333333333333333);
    // f1_score(average=None) in the same docs: [0.8, 0, 0].
    expect(r.per_class.map((c) => c.f1)).toEqual([0.8, 0, 0]);
    expect(r.per_class.map((c) => c.label)).toEqual(['0', '1', '2']);
    expect(r.confusion_matrix).toEqual({
      labels: ['0', '1', '2'],
      counts: [
        [2, 0, 0],
        [1, 0, 1],
        [0, 2, 0],
      ],
    });
    expect(r.log_loss).toBeNull();
  });

  it('equal a brute-force computation on random rows, with missing, unknown and unscored rows counted and left out', () => {
    const rand = rng(14);
    const labels = ['Adelie', 'Chinstrap', 'Gentoo', 'Emperor'];
    const rows: Row[] = [];
    const kept: { y: number; p: number; scores: number[] }[] = [];
    let missing = 0;
    let unknown = 0;
    let unscored = 0;
    for (let i = 0; i < 5000; i++) {
      // Class 3 (Emperor) is never a true label, only sometimes predicted: the union of classes matters.
      const y = Math.floor(rand() * 3);
      const raw = Array.from({ length: 4 }, () => rand() + (rand() < 0.1 ? 0 : 1e-3));
      raw[y] += rand() * 2;
      const sum = raw.reduce((s, x) => s + x, 0);
      const scores = raw.map((x) => x / sum);
      const p = rand() < 0.05 ? 3 : scores.indexOf(Math.max(...scores));
      const u = rand();
      if (u < 0.03) {
        rows.push([null, cls(p, scores)]);
        missing++;
      } else if (u < 0.06) {
        rows.push([['', '  ', 'NA', ' n/a ', 'None', '#N/A', '-'][i % 7], cls(p, scores)]);
        missing++;
      } else if (u < 0.08) {
        rows.push([['Penguin', 'adelie penguin', '0', 'Gentoo!'][i % 4], cls(p, scores)]);
        unknown++;
      } else if (u < 0.1) {
        rows.push([labels[y], null]);
        unscored++;
      } else {
        // Exact, padded and other-case spellings all name the class.
        const text = [labels[y], ` ${labels[y]}\t`, labels[y].toUpperCase()][i % 3];
        rows.push([text, cls(p, scores)]);
        kept.push({ y, p, scores });
      }
    }
    const r = report(rows, labels);
    expect(EvaluationSchema.parse(r)).toEqual(r);

    expect(r.rows_evaluated).toBe(kept.length);
    expect(r.missing_label).toBe(missing);
    expect(r.unknown_label).toBe(unknown);
    expect(r.unknown_label_examples).toEqual(['0', 'Gentoo!', 'Penguin', 'adelie penguin']);
    expect(r.unscored).toBe(unscored);

    const classes = [0, 1, 2, 3];
    expect(r.confusion_matrix.labels).toEqual(labels);
    expect(r.confusion_matrix.counts).toEqual(classes.map((t) => classes.map((q) => kept.filter((k) => k.y === t && k.p === q).length)));
    expectClose(r.accuracy, kept.filter((k) => k.y === k.p).length / kept.length);

    let macro = 0;
    let weighted = 0;
    classes.forEach((c, i) => {
      const tp = kept.filter((k) => k.y === c && k.p === c).length;
      const fp = kept.filter((k) => k.y !== c && k.p === c).length;
      const fn = kept.filter((k) => k.y === c && k.p !== c).length;
      const precision = tp + fp ? tp / (tp + fp) : 0;
      const recall = tp + fn ? tp / (tp + fn) : 0;
      const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
      const got = r.per_class[i];
      expect(got.label).toBe(labels[c]);
      expect(got.support).toBe(tp + fn);
      expectClose(got.precision, precision);
      expectClose(got.recall, recall);
      expectClose(got.f1, f1);
      macro += f1 / classes.length;
      weighted += (f1 * (tp + fn)) / kept.length;
    });
    expect(r.per_class[3]).toMatchObject({ label: 'Emperor', support: 0, recall: 0, f1: 0, precision: 0 });
    expectClose(r.macro_f1, macro);
    expectClose(r.weighted_f1, weighted);
    const ll = kept.reduce((s, k) => s - Math.log(Math.min(1, Math.max(1e-15, k.scores[k.y]))), 0) / kept.length;
    expectClose(r.log_loss, ll);
  });

  it('give the same report however the rows are split into chunks and the chunks merged', () => {
    const rand = rng(7);
    const labels = ['a', 'b', 'c', 'd', 'e'];
    const rows: Row[] = Array.from({ length: 3000 }, (_, i) => {
      const y = Math.floor(rand() * 5);
      const p = rand() < 0.6 ? y : Math.floor(rand() * 5);
      const s = [0.1, 0.1, 0.1, 0.1, 0.1];
      s[p] = 0.6;
      if (i % 97 === 0) return [null, cls(p, s)];
      if (i % 89 === 0) return [`unknown ${i}`, cls(p, s)];
      if (i % 83 === 0) return [labels[y], null];
      return [labels[y], cls(p, s)];
    });
    const whole = evaluationReport(evaluate(rows, labels), labels);
    for (let trial = 0; trial < 5; trial++) {
      const parts = randomSplits(rows.length, rand, 2 + trial * 4).map(([a, b]) => evaluate(rows.slice(a, b), labels));
      for (const merged of mergeOrders(parts, mergeEvalPartials, rand)) expectSameReport(evaluationReport(merged, labels), whole);
    }
    // More than five distinct unknown labels: the five smallest, whatever the split.
    expect(whole.unknown_label_examples).toEqual(['unknown 1068', 'unknown 1157', 'unknown 1246', 'unknown 1335', 'unknown 1424']);
  });

  it('reads bare class indices when the model has no labels, and grows past any preset class count', () => {
    const r = report(
      [
        [' 2 ', cls(2)],
        ['0', cls(1)],
        ['300', cls(300)],
        ['300', cls(2)],
        ['1000', cls(1000)],
        ['2.0', cls(2)],
        ['-1', cls(0)],
        ['+1', cls(1)],
        ['1e3', cls(1)],
        ['12345678901234567', cls(1)],
      ],
      null,
    );
    expect(r.rows_evaluated).toBe(5);
    expect(r.unknown_label).toBe(5);
    expect(r.confusion_matrix.labels).toEqual(['0', '1', '2', '300', '1000']);
    expect(r.confusion_matrix.counts).toEqual([
      [0, 1, 0, 0, 0],
      [0, 0, 0, 0, 0],
      [0, 0, 1, 0, 0],
      [0, 0, 1, 1, 0],
      [0, 0, 0, 0, 1],
    ]);
    expect(r.per_class.map((c) => c.support)).toEqual([1, 0, 1, 2, 1]);
    expectClose(r.accuracy, 3 / 5);
  });

  it('counts a row exactly once: unscored before a missing or unknown label', () => {
    const r = report(
      [
        [null, null],
        ['zzz', null],
        ['', null],
        ['a', { value: null, scores: null }],
        ['a', cls(0)],
      ],
      ['a'],
    );
    expect([r.unscored, r.missing_label, r.unknown_label, r.rows_evaluated]).toEqual([4, 0, 0, 1]);
  });

  it('takes the missing-value texts given, in any case, and cuts long unknown labels to 100 characters', () => {
    const long = 'x'.repeat(150);
    const r = report(
      [
        ['?', cls(0)],
        ['UNKNOWN', cls(0)],
        ['NA', cls(0)],
        [long, cls(0)],
        [long, cls(0)],
      ],
      ['a', 'NA'],
      ['?', 'unknown'],
    );
    expect(r.missing_label).toBe(2);
    // "NA" is not a missing text with this list: it is the class "NA".
    expect(r.rows_evaluated).toBe(1);
    expect(r.confusion_matrix).toEqual({ labels: ['a', 'NA'], counts: [[0, 0], [1, 0]] });
    expect(r.unknown_label).toBe(2);
    expect(r.unknown_label_examples).toEqual(['x'.repeat(100)]);
  });

  it('treats a label that matches two labels only case-insensitively as unknown', () => {
    const r = report(
      [
        ['CAT', cls(0)],
        ['Cat', cls(0)],
        ['dog', cls(2)],
      ],
      ['cat', 'Cat', 'Dog'],
    );
    expect(r.unknown_label).toBe(1);
    expect(r.unknown_label_examples).toEqual(['CAT']);
    // "Cat" is exact (class 1, predicted as class 0 "cat"); "dog" is "Dog" in another case.
    expect(r.confusion_matrix).toEqual({
      labels: ['cat', 'Cat', 'Dog'],
      counts: [
        [0, 0, 0],
        [1, 0, 0],
        [0, 0, 1],
      ],
    });
  });

  it('reports log loss only when every evaluated row had probabilities, clipping 0 to 1e-15', () => {
    const all = report(
      [
        ['0', cls(1, [0, 1])],
        ['1', cls(1, [0.25, 0.75])],
      ],
      null,
    );
    expectClose(all.log_loss, (-Math.log(1e-15) - Math.log(0.75)) / 2);
    const some = report(
      [
        ['0', cls(0, [0.9, 0.1])],
        ['1', cls(1)],
      ],
      null,
    );
    expect(some.log_loss).toBeNull();
    // A float32 probability array is read like any other.
    const f32 = report([['1', cls(1, Float32Array.from([0.25, 0.75]) as unknown as number[])]], null);
    expectClose(f32.log_loss, -Math.log(0.75));
  });

  it('shows null figures, never NaN, when no row was evaluated', () => {
    const r = report(
      [
        ['', cls(0)],
        ['a', null],
      ],
      ['a'],
    );
    expect(r).toMatchObject({ rows_evaluated: 0, accuracy: null, macro_f1: null, weighted_f1: null, log_loss: null, per_class: [], confusion_matrix: { labels: [], counts: [] } });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(EvaluationSchema.parse(r)).toEqual(r);
  });

  it('refuses to merge a classification partial with a regression one', () => {
    const c = evaluate([['0', cls(0)]], null);
    const ev = createEvaluator({ task: 'regression', decimal: '.' });
    ev.add('1', { value: 1, scores: null });
    expect(() => mergeEvalPartials(c, ev.partial())).toThrow(PartialMismatchError);
  });

  it('has a schema the OpenAPI document can render', () => {
    const js = z.toJSONSchema(EvaluationSchema, { io: 'output' }) as { $defs: Record<string, { oneOf?: unknown[] }> };
    expect(js.$defs.Evaluation.oneOf).toHaveLength(2);
    expect(Object.keys(js.$defs).sort()).toEqual(['ClassificationEvaluation', 'Evaluation', 'RegressionEvaluation']);
  });
});
