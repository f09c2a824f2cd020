import { PartialMismatchError } from './errors.js';
import { mergeTriples, type PairTriple } from './pairCounts.js';

// What a chunk's evaluation leaves behind: plain JSON (stored per chunk as jsonb), merged in the
// job's commit in any order. Counts add exactly; sums are compensated within a chunk and add across
// chunks; the label's mean and M2 merge by Chan et al.'s parallel formula. Unknown-label examples
// keep the smallest few distinct texts, so merging is commutative and associative.

export interface PartialCounts {
  /** Rows with a known label and a prediction: the rows the metrics cover. */
  rows: number;
  missing_label: number;
  unknown_label: number;
  /** Up to MAX_EXAMPLES distinct unknown label texts (trimmed, cut to 100 characters), sorted. */
  unknown_label_examples: string[];
  /** Rows that failed to score (whatever their label). */
  unscored: number;
}

export interface ClassificationPartial extends PartialCounts {
  task: 'classification';
  correct: number;
  /** [true index, predicted index, rows], sorted. */
  confusion: PairTriple[];
  /** Σ −ln p(true class) over the evaluated rows that had probabilities, and how many those were. */
  log_loss_sum: number;
  log_loss_rows: number;
}

export interface RegressionPartial extends PartialCounts {
  task: 'regression';
  /** Σ r², Σ |r|, Σ r for residual r = label − prediction. */
  sse: number;
  sae: number;
  sum_residual: number;
  /** The labels' mean and sum of squared deviations from it (Welford / Chan). */
  label_mean: number;
  label_m2: number;
  /** [signed bin id (src/evaluation/histogram.ts), rows], sorted by id; non-empty bins only. */
  histogram: [number, number][];
}

export type EvalPartial = ClassificationPartial | RegressionPartial;

export const MAX_EXAMPLES = 5;
export const EXAMPLE_CHARS = 100;

export function mergeEvalPartials(a: EvalPartial, b: EvalPartial): EvalPartial {
  if (a.task === 'classification' && b.task === 'classification') {
    return {
      task: 'classification',
      ...mergeCounts(a, b),
      correct: a.correct + b.correct,
      confusion: mergeTriples(a.confusion, b.confusion),
      log_loss_sum: a.log_loss_sum + b.log_loss_sum,
      log_loss_rows: a.log_loss_rows + b.log_loss_rows,
    };
  }
  if (a.task === 'regression' && b.task === 'regression') {
    const moments = mergeMoments(a.rows, a.label_mean, a.label_m2, b.rows, b.label_mean, b.label_m2);
    return {
      task: 'regression',
      ...mergeCounts(a, b),
      sse: a.sse + b.sse,
      sae: a.sae + b.sae,
      sum_residual: a.sum_residual + b.sum_residual,
      label_mean: moments.mean,
      label_m2: moments.m2,
      histogram: mergePairs(a.histogram, b.histogram),
    };
  }
  throw new PartialMismatchError('evaluation', a.task, b.task);
}

function mergeCounts(a: PartialCounts, b: PartialCounts): PartialCounts {
  return {
    rows: a.rows + b.rows,
    missing_label: a.missing_label + b.missing_label,
    unknown_label: a.unknown_label + b.unknown_label,
    unknown_label_examples: mergeExamples(a.unknown_label_examples, b.unknown_label_examples),
    unscored: a.unscored + b.unscored,
  };
}

/** Chan, Golub & LeVeque's pairwise update of (n, mean, M2). */
export function mergeMoments(na: number, ma: number, m2a: number, nb: number, mb: number, m2b: number): { mean: number; m2: number } {
  if (nb === 0) return { mean: ma, m2: m2a };
  if (na === 0) return { mean: mb, m2: m2b };
  const n = na + nb;
  const delta = mb - ma;
  return { mean: ma + (delta * nb) / n, m2: m2a + m2b + (delta * delta * na * nb) / n };
}

/** The smallest MAX_EXAMPLES distinct texts of both lists: the same whatever the merge order. */
export function mergeExamples(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort(compareText).slice(0, MAX_EXAMPLES);
}

/** Code-unit order, locale-free, so every process sorts alike. */
export function compareText(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

function mergePairs(x: readonly [number, number][], y: readonly [number, number][]): [number, number][] {
  const m = new Map<number, number>();
  for (const [id, n] of x) m.set(id, (m.get(id) ?? 0) + n);
  for (const [id, n] of y) m.set(id, (m.get(id) ?? 0) + n);
  return [...m.entries()].sort((p, q) => p[0] - q[0]);
}
