import { binRange } from './histogram.js';
import type { ClassificationPartial, EvalPartial, RegressionPartial } from './partial.js';
import type { ClassificationEvaluation, Evaluation, RegressionEvaluation } from './schemas.js';

export type { ClassificationEvaluation, Evaluation, RegressionEvaluation } from './schemas.js';

// A merged partial → the `evaluation` object the API shows. Classification figures follow
// scikit-learn (precision_recall_fscore_support with zero_division=0, f1_score average='macro' /
// 'weighted' over the classes seen in the labels or the predictions). A figure that covers no row
// is null, never NaN: JSON cannot hold NaN.



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
