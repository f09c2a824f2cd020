import { MISSING, missingTokens, numberCell, type MissingTokens } from '../inference/preprocess.js';
import { CompensatedSum } from './compensatedSum.js';
import { MAG_BINS, residualBin } from './histogram.js';
import { PairCounts } from './pairCounts.js';
import { compareText, EXAMPLE_CHARS, MAX_EXAMPLES, type ClassificationPartial, type EvalPartial, type RegressionPartial } from './partial.js';

// Per-row evaluation inside the inference worker: add() sees every row of a 1,000,000-row job, so it
// allocates nothing on the common path (counts in typed arrays, sums in fields, the label looked up
// in a Map) and does the few checks a row needs. Only odd rows allocate: a label cell with
// surrounding spaces (trim), a case-insensitive label match, an unknown label kept as an example;
// and a regression label's fractional number, which Number() boxes.
// A row counts in exactly one bucket: unscored (its prediction failed, whatever its label), else
// missing_label, else unknown_label, else evaluated.

/** A row's prediction: the class index (classification) or value (regression); scores = class probabilities when the model gives them. */
export interface Scored {
  value: number | null;
  scores: ArrayLike<number> | null;
}

export type EvalTask = { task: 'classification'; labels: string[] | null } | { task: 'regression'; decimal: '.' | ',' };

export interface Evaluator {
  /** One row: its label cell as text (null when the column had no cell), and its prediction (null when the row failed to score). */
  add(label: string | null, pred: Scored | null): void;
  partial(): EvalPartial;
}

/** `missingValues`: the label texts read as "no label" (any case); by default the cell rules' list (src/inference/preprocess.ts). */
export function createEvaluator(task: EvalTask, missingValues?: readonly string[]): Evaluator {
  const tokens = missingTokens(missingValues);
  return task.task === 'classification' ? new ClassificationEvaluator(task.labels, tokens) : new RegressionEvaluator(task.decimal, tokens);
}

/**
 * Whether a trimmed label is "no value", by the same rule as preprocess's isMissingText, without its
 * per-call toLowerCase (which allocates even for "0" or "yes"): the tokens are lower case, so only
 * a text with an upper-case or non-ASCII character needs the lower-cased copy.
 */
function isMissingLabel(s: string, m: MissingTokens): boolean {
  if (s === '') return true;
  if (s.length > m.max) return false;
  if (m.tokens.has(s)) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 65 && c <= 90) || c > 127) return m.tokens.has(s.toLowerCase());
  }
  return false;
}

/** For numberCell once isMissingLabel has ruled: only '' is missing, and it never lower-cases. */
const NO_TOKENS: MissingTokens = { tokens: new Set(), max: 0 };

/** log(0) guard, as scikit-learn's log_loss clips. */
const EPS = 1e-15;
const UNKNOWN = -1;
const AMBIGUOUS = -2;

/** Counts shared by both tasks, and the unknown-label examples (the smallest few distinct texts, like the merge keeps). */
abstract class Counts {
  protected rows = 0;
  protected missing = 0;
  protected unknown = 0;
  protected unscored = 0;
  private examples: string[] = [];

  protected unknownLabel(text: string): void {
    this.unknown++;
    const s = text.length > EXAMPLE_CHARS ? text.slice(0, EXAMPLE_CHARS) : text;
    const ex = this.examples;
    if (ex.includes(s) || (ex.length === MAX_EXAMPLES && compareText(s, ex[MAX_EXAMPLES - 1]) > 0)) return;
    ex.push(s);
    ex.sort(compareText);
    if (ex.length > MAX_EXAMPLES) ex.pop();
  }

  protected counts() {
    return { rows: this.rows, missing_label: this.missing, unknown_label: this.unknown, unknown_label_examples: [...this.examples], unscored: this.unscored };
  }
}

class ClassificationEvaluator extends Counts implements Evaluator {
  private readonly exact: Map<string, number> | null;
  private folded: Map<string, number> | null = null;
  private readonly confusion: PairCounts;
  private correct = 0;
  private readonly logLoss = new CompensatedSum();
  private logLossRows = 0;

  constructor(
    private readonly labels: readonly string[] | null,
    private readonly tokens: MissingTokens,
  ) {
    super();
    this.exact = labels ? new Map(labels.map((l, i) => [l, i] as const).reverse()) : null;
    this.confusion = new PairCounts(labels?.length ?? 0);
  }

  add(label: string | null, pred: Scored | null): void {
    if (pred === null) {
      this.unscored++;
      return;
    }
    const p = pred.value;
    if (p === null || !Number.isInteger(p) || p < 0) {
      this.unscored++;
      return;
    }
    if (label === null) {
      this.missing++;
      return;
    }
    const s = label.trim();
    if (isMissingLabel(s, this.tokens)) {
      this.missing++;
      return;
    }
    const y = this.exact ? (this.exact.get(s) ?? this.foldedIndex(s)) : bareIndex(s);
    if (y < 0) {
      this.unknownLabel(s);
      return;
    }
    this.rows++;
    if (y === p) this.correct++;
    this.confusion.add(y, p);
    const scores = pred.scores;
    if (scores !== null) {
      // A true class past the scores (bare-index labels) had probability 0; NaN fails both tests and clips to EPS too.
      const q = y < scores.length ? scores[y] : 0;
      this.logLoss.add(-Math.log(q > EPS ? (q < 1 ? q : 1) : EPS));
      this.logLossRows++;
    }
  }

  /** The label matched regardless of case; UNKNOWN when none or when two labels differ only by case. */
  private foldedIndex(s: string): number {
    if (!this.folded) {
      this.folded = new Map();
      this.labels!.forEach((l, i) => {
        const k = l.toLowerCase();
        this.folded!.set(k, this.folded!.has(k) ? AMBIGUOUS : i);
      });
    }
    const i = this.folded.get(s.toLowerCase());
    return i === undefined || i === AMBIGUOUS ? UNKNOWN : i;
  }

  partial(): ClassificationPartial {
    return {
      task: 'classification',
      ...this.counts(),
      correct: this.correct,
      confusion: this.confusion.triples(),
      log_loss_sum: this.logLoss.value,
      log_loss_rows: this.logLossRows,
    };
  }
}

/** A label cell of digits only, as a class index (at most 15 digits: exact as a double); UNKNOWN otherwise. */
function bareIndex(s: string): number {
  const n = s.length;
  if (n === 0 || n > 15) return UNKNOWN;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return UNKNOWN;
    v = v * 10 + d;
  }
  return v;
}

class RegressionEvaluator extends Counts implements Evaluator {
  private readonly sse = new CompensatedSum();
  private readonly sae = new CompensatedSum();
  private readonly sumResidual = new CompensatedSum();
  private mean = 0;
  private m2 = 0;
  /** Indexed by signed bin id + MAG_BINS. */
  private readonly bins = new Float64Array(2 * MAG_BINS + 1);

  constructor(
    private readonly decimal: '.' | ',',
    private readonly tokens: MissingTokens,
  ) {
    super();
  }

  add(label: string | null, pred: Scored | null): void {
    const p = pred === null ? null : pred.value;
    // A non-finite prediction is a failed row too: one NaN would make every figure NaN.
    if (p === null || !Number.isFinite(p)) {
      this.unscored++;
      return;
    }
    if (label === null) {
      this.missing++;
      return;
    }
    const s = label.trim();
    if (isMissingLabel(s, this.tokens)) {
      this.missing++;
      return;
    }
    // The same number rules as feature cells (sign, exponent, the upload's decimal mark; no hex or
    // Infinity). Number() inside boxes a fractional result: the one allocation a regression row makes.
    const y = numberCell(s, 'label', this.decimal, NO_TOKENS);
    if (y === MISSING || typeof y === 'string') {
      this.unknownLabel(s);
      return;
    }
    const n = ++this.rows;
    const r = y - p;
    this.sse.add(r * r);
    this.sae.add(Math.abs(r));
    this.sumResidual.add(r);
    // Welford's update of the labels' mean and M2: SS_tot without a second pass and without cancellation.
    const d = y - this.mean;
    this.mean += d / n;
    this.m2 += d * (y - this.mean);
    this.bins[residualBin(r) + MAG_BINS]++;
  }

  partial(): RegressionPartial {
    const histogram: [number, number][] = [];
    this.bins.forEach((c, i) => {
      if (c !== 0) histogram.push([i - MAG_BINS, c]);
    });
    return {
      task: 'regression',
      ...this.counts(),
      sse: this.sse.value,
      sae: this.sae.value,
      sum_residual: this.sumResidual.value,
      label_mean: this.mean,
      label_m2: this.m2,
      histogram,
    };
  }
}
