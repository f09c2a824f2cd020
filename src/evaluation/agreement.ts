import { CompensatedSum } from './compensatedSum.js';
import type { Scored } from './evaluator.js';
import { PartialMismatchError } from './errors.js';
import { mergeTriples, PairCounts, type PairTriple } from './pairCounts.js';
import { className, denseMatrix } from './report.js';
import type { AgreementSummary } from './schemas.js';

export type { AgreementSummary } from './schemas.js';

// Compare jobs: how often two models agree on the same rows. Per row allocation-free like the
// evaluator; partials are plain JSON merged in any order. Rows where either model failed count as
// unscored and are left out.

export interface ClassificationAgreementPartial {
  task: 'classification';
  /** Rows both models scored. */
  rows: number;
  /** Of those, rows with the same class index. */
  agree: number;
  unscored: number;
  /** [class index by a, class index by b, rows], sorted. */
  counts: PairTriple[];
}

export interface RegressionAgreementPartial {
  task: 'regression';
  rows: number;
  /** Rows with |a − b| ≤ 1e-6·max(1, |a|). */
  agree: number;
  unscored: number;
  sum_abs_diff: number;
  max_abs_diff: number;
}

export type AgreementPartial = ClassificationAgreementPartial | RegressionAgreementPartial;

export interface Agreement {
  add(a: Scored | null, b: Scored | null): void;
  partial(): AgreementPartial;
}

export function createAgreement(task: 'classification' | 'regression'): Agreement {
  return task === 'classification' ? new ClassAgreement() : new ValueAgreement();
}

/** Relative tolerance for two regressors to agree: float32 outputs of the same model differ by about 6e-8. */
const REL_TOL = 1e-6;

class ClassAgreement implements Agreement {
  private rows = 0;
  private agree = 0;
  private unscored = 0;
  private readonly counts = new PairCounts();

  add(a: Scored | null, b: Scored | null): void {
    const x = a === null ? null : a.value;
    const y = b === null ? null : b.value;
    if (x === null || y === null || !Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0) {
      this.unscored++;
      return;
    }
    this.rows++;
    if (x === y) this.agree++;
    this.counts.add(x, y);
  }

  partial(): ClassificationAgreementPartial {
    return { task: 'classification', rows: this.rows, agree: this.agree, unscored: this.unscored, counts: this.counts.triples() };
  }
}

class ValueAgreement implements Agreement {
  private rows = 0;
  private agree = 0;
  private unscored = 0;
  private readonly sum = new CompensatedSum();
  private max = 0;

  add(a: Scored | null, b: Scored | null): void {
    const x = a === null ? null : a.value;
    const y = b === null ? null : b.value;
    if (x === null || y === null || !Number.isFinite(x) || !Number.isFinite(y)) {
      this.unscored++;
      return;
    }
    this.rows++;
    const d = Math.abs(x - y);
    if (d <= REL_TOL * Math.max(1, Math.abs(x))) this.agree++;
    this.sum.add(d);
    if (d > this.max) this.max = d;
  }

  partial(): RegressionAgreementPartial {
    return { task: 'regression', rows: this.rows, agree: this.agree, unscored: this.unscored, sum_abs_diff: this.sum.value, max_abs_diff: this.max };
  }
}

export function mergeAgreementPartials(a: AgreementPartial, b: AgreementPartial): AgreementPartial {
  if (a.task === 'classification' && b.task === 'classification') {
    return { task: 'classification', rows: a.rows + b.rows, agree: a.agree + b.agree, unscored: a.unscored + b.unscored, counts: mergeTriples(a.counts, b.counts) };
  }
  if (a.task === 'regression' && b.task === 'regression') {
    return {
      task: 'regression',
      rows: a.rows + b.rows,
      agree: a.agree + b.agree,
      unscored: a.unscored + b.unscored,
      sum_abs_diff: a.sum_abs_diff + b.sum_abs_diff,
      max_abs_diff: Math.max(a.max_abs_diff, b.max_abs_diff),
    };
  }
  throw new PartialMismatchError('agreement', a.task, b.task);
}



export function agreementReport(p: AgreementPartial, labelsA: string[] | null, labelsB: string[] | null): AgreementSummary {
  const agreement_rate = p.rows > 0 ? p.agree / p.rows : null;
  if (p.task === 'regression') {
    const mean = p.rows > 0 ? p.sum_abs_diff / p.rows : null;
    return {
      task: 'regression',
      rows: p.rows,
      unscored: p.unscored,
      agreement_rate,
      mean_absolute_difference: mean !== null && Number.isFinite(mean) ? mean : null,
      max_absolute_difference: p.rows > 0 && Number.isFinite(p.max_abs_diff) ? p.max_abs_diff : null,
    };
  }
  const sorted = (xs: number[]) => [...new Set(xs)].sort((x, y) => x - y);
  // Models sharing their labels get a square matrix (the diagonal is agreement); otherwise each axis lists its own classes.
  const shared = sameLabels(labelsA, labelsB);
  const classesA = sorted(p.counts.map((t) => t[0]).concat(shared ? p.counts.map((t) => t[1]) : []));
  const classesB = shared ? classesA : sorted(p.counts.map((t) => t[1]));
  return {
    task: 'classification',
    rows: p.rows,
    unscored: p.unscored,
    agreement_rate,
    disagreement_matrix: {
      labels_a: classesA.map((c) => className(c, labelsA)),
      labels_b: classesB.map((c) => className(c, labelsB)),
      counts: denseMatrix(p.counts, classesA, classesB),
    },
  };
}

function sameLabels(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((l, i) => l === b[i]);
}
