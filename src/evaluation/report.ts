import { z } from 'zod';
import { binRange } from './histogram.js';
import type { ClassificationPartial, EvalPartial, RegressionPartial } from './partial.js';

// A merged partial → the `evaluation` object the API shows. Classification figures follow
// scikit-learn (precision_recall_fscore_support with zero_division=0, f1_score average='macro' /
// 'weighted' over the classes seen in the labels or the predictions). A figure that covers no row
// is null, never NaN: JSON cannot hold NaN.

const Count = z.number().int().min(0);
const Figure = z.number().nullable();

const countsShape = {
  rows_evaluated: Count.describe('Rows with a known label and a prediction: the rows the figures cover'),
  missing_label: Count.describe('Scored rows whose label cell was empty or a missing-value text; left out'),
  unknown_label: Count.describe('Scored rows whose label is not a class (classification) or not a number (regression); left out'),
  unknown_label_examples: z.array(z.string()).describe('A few of those labels (the first distinct ones in text order, each cut to 100 characters)'),
  unscored: Count.describe('Rows that failed to score; left out'),
};

const PerClass = z.object({
  label: z.string(),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: Count.describe('Rows of this class in the labels'),
});

export const ClassificationEvaluationSchema = z
  .object({
    task: z.literal('classification'),
    ...countsShape,
    accuracy: Figure,
    macro_f1: Figure.describe('Unweighted mean of the per-class F1'),
    weighted_f1: Figure.describe('Mean of the per-class F1 weighted by support'),
    log_loss: Figure.describe('Mean −ln p(true class), p clipped to [1e-15, 1]; null unless every evaluated row had probabilities'),
    per_class: z.array(PerClass).describe('Every class seen in the labels or the predictions, in class order; a ratio with nothing to divide is 0'),
    confusion_matrix: z
      .object({ labels: z.array(z.string()), counts: z.array(z.array(Count)) })
      .describe('counts[i][j]: rows whose label is labels[i] and whose prediction is labels[j]'),
  })
  .meta({ id: 'ClassificationEvaluation', description: "A classifier's figures on a labelled upload" });

export const RegressionEvaluationSchema = z
  .object({
    task: z.literal('regression'),
    ...countsShape,
    rmse: Figure,
    mae: Figure,
    r2: Figure.describe('1 − SSE / SS_tot; null when the labels do not vary'),
    mean_residual: Figure.describe('Mean of label − prediction'),
    residual_histogram: z
      .array(z.object({ from: z.number().nullable(), to: z.number().nullable(), count: Count.min(1) }))
      .describe(
        'Residuals (label − prediction) in fixed bins, non-empty ones in ascending order: one bin for exactly 0, then bins of |residual| with edges 2^(k/2) ([from, to) for positive, (from, to] for negative residuals); null is an open end',
      ),
  })
  .meta({ id: 'RegressionEvaluation', description: "A regressor's figures on a labelled upload" });

export const EvaluationSchema = z
  .discriminatedUnion('task', [ClassificationEvaluationSchema, RegressionEvaluationSchema])
  .meta({ id: 'Evaluation', description: "A model's figures against the upload's label column, computed while scoring" });

export type ClassificationEvaluation = z.infer<typeof ClassificationEvaluationSchema>;
export type RegressionEvaluation = z.infer<typeof RegressionEvaluationSchema>;
export type Evaluation = z.infer<typeof EvaluationSchema>;

export function evaluationReport(p: EvalPartial, labels: string[] | null): Evaluation {
  return p.task === 'classification' ? classificationReport(p, labels) : regressionReport(p);
}

/** A class index's name: its label, else the index as text. */
export function className(i: number, labels: readonly string[] | null): string {
  return labels && i < labels.length ? labels[i] : String(i);
}

/** x/d, or null when d is 0 or the result is not finite (an overflowed sum). */
function ratio(x: number, d: number): number | null {
  if (d === 0) return null;
  const v = x / d;
  return Number.isFinite(v) ? v : null;
}

/** A dense matrix over the given row and column classes from sparse [row, column, count] triples. */
export function denseMatrix(triples: readonly [number, number, number][], rowClasses: readonly number[], colClasses: readonly number[]): number[][] {
  const ri = new Map(rowClasses.map((c, i) => [c, i]));
  const ci = new Map(colClasses.map((c, i) => [c, i]));
  const m = rowClasses.map(() => colClasses.map(() => 0));
  for (const [a, b, n] of triples) m[ri.get(a)!][ci.get(b)!] += n;
  return m;
}

function classificationReport(p: ClassificationPartial, labels: string[] | null): ClassificationEvaluation {
  const classes = [...new Set(p.confusion.flatMap(([t, q]) => [t, q]))].sort((a, b) => a - b);
  const m = denseMatrix(p.confusion, classes, classes);
  const k = classes.length;
  const support = m.map((row) => row.reduce((s, n) => s + n, 0));
  const predicted = classes.map((_, j) => m.reduce((s, row) => s + row[j], 0));
  const per_class = classes.map((c, i) => {
    const tp = m[i][i];
    // F1 as scikit-learn computes it: 2·tp / (support + predicted), 0 when that is 0/0.
    return {
      label: className(c, labels),
      precision: predicted[i] ? tp / predicted[i] : 0,
      recall: support[i] ? tp / support[i] : 0,
      f1: support[i] + predicted[i] ? (2 * tp) / (support[i] + predicted[i]) : 0,
      support: support[i],
    };
  });
  const totalSupport = support.reduce((s, n) => s + n, 0);
  return {
    task: 'classification',
    rows_evaluated: p.rows,
    missing_label: p.missing_label,
    unknown_label: p.unknown_label,
    unknown_label_examples: p.unknown_label_examples,
    unscored: p.unscored,
    accuracy: ratio(p.correct, p.rows),
    macro_f1: ratio(
      per_class.reduce((s, c) => s + c.f1, 0),
      k,
    ),
    weighted_f1: ratio(
      per_class.reduce((s, c) => s + c.f1 * c.support, 0),
      totalSupport,
    ),
    log_loss: p.rows > 0 && p.log_loss_rows === p.rows ? ratio(p.log_loss_sum, p.rows) : null,
    per_class,
    confusion_matrix: { labels: classes.map((c) => className(c, labels)), counts: m },
  };
}

function regressionReport(p: RegressionPartial): RegressionEvaluation {
  const n = p.rows;
  const mse = ratio(p.sse, n);
  return {
    task: 'regression',
    rows_evaluated: n,
    missing_label: p.missing_label,
    unknown_label: p.unknown_label,
    unknown_label_examples: p.unknown_label_examples,
    unscored: p.unscored,
    rmse: mse === null ? null : Math.sqrt(mse),
    mae: ratio(p.sae, n),
    r2: n > 0 && p.label_m2 > 0 && Number.isFinite(p.sse) ? 1 - p.sse / p.label_m2 : null,
    mean_residual: ratio(p.sum_residual, n),
    residual_histogram: p.histogram.map(([id, count]) => ({ ...binRange(id), count })),
  };
}
