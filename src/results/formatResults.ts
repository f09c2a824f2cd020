import type pg from 'pg';
import type { JobStatus } from '../db/jobRow.js';
import { selectJobSignature } from '../db/selectJobSignature.js';
import type { ModelIO, RunPlan } from '../models/types.js';
import type { Signature } from '../models/signature.js';
import type { PredictionRow } from './predictionRow.js';
import { shortestFloat4 } from './shortestFloat4.js';

// Stored results as the API shows them: class indices become labels, scores become named
// probabilities, and rows become CSV lines or JSON objects, as the job's model signature says.

/** Reads stored prediction rows the way the signature says outputs read: labels, probabilities, values. */
export class ResultFormatter {
  readonly labels: string[] | null;
  readonly passthrough: string[];

  /** Regression values of a float32 output, stored before the thread kept them shortest (postprocess.ts), print shortest too. */
  private readonly float32Value: boolean;

  /**
   * `outputs` (the version's io.outputs): the type of the value output, when known. `compare`: a
   * compare job's second model, whose predictions (compare_value, compare_scores) read as its own.
   */
  constructor(private readonly signature: Signature, plan: RunPlan, outputs?: ModelIO['outputs'], readonly compare?: ResultFormatter) {
    this.passthrough = signature.passthrough;
    this.labels = signature.task === 'classification' ? (plan.labels ?? signature.labels ?? null) : null;
    this.float32Value = signature.task === 'regression' && outputs?.find((o) => o.name === plan.value)?.type === 'float32';
  }

  /** Whether the CSV's columns depend on how many classes the rows have (classification without labels). */
  get needsClassCount(): boolean {
    return this.signature.task === 'classification' && !this.labels;
  }

  csvHeader(classCount: number | null): string[] {
    const probs = this.signature.task === 'classification' ? this.classNames(classCount).map((l) => `probability_${l}`) : [];
    const compared = this.compare ? ['compare_prediction', ...this.compare.probabilityColumns(classCount).map((l) => `compare_probability_${l}`)] : [];
    return ['row', ...this.passthrough, 'prediction', ...probs, ...compared, 'error'];
  }

  private probabilityColumns(classCount: number | null): string[] {
    return this.signature.task === 'classification' ? this.classNames(classCount) : [];
  }

  /** A compare job's row as its second model scored it (no error of its own: a missing prediction is empty). */
  private compared(r: PredictionRow): PredictionRow {
    return { row_no: r.row_no, value: r.compare_value ?? null, scores: r.compare_scores ?? null, passthrough: null, error: null };
  }

  classNames(classCount: number | null): string[] {
    if (this.labels) return this.labels;
    return Array.from({ length: classCount ?? 0 }, (_, i) => String(i));
  }

  prediction(r: PredictionRow): string | number | number[] | null {
    if (r.error) return null;
    if (this.signature.task === 'classification') {
      if (r.value === null) return null;
      return this.labels?.[r.value] ?? String(r.value);
    }
    if (this.signature.task === 'raw') return r.scores;
    // Idempotent: a value already stored shortest reads back as the same float32.
    return this.float32Value && r.value !== null ? shortestFloat4(Math.fround(r.value)) : r.value;
  }

  csvRow(r: PredictionRow, classCount: number | null): string[] {
    const pass = this.passthrough.map((_, i) => r.passthrough?.[i] ?? '');
    const pred = this.prediction(r);
    const predCell = pred === null ? '' : Array.isArray(pred) ? JSON.stringify(pred) : String(pred);
    const probs = this.signature.task === 'classification' ? this.classNames(classCount).map((_, i) => (r.scores?.[i] ?? '').toString()) : [];
    if (!this.compare) return [String(r.row_no), ...pass, predCell, ...probs, r.error ?? ''];
    const c = this.compare.csvRow(this.compared(r), classCount);
    // The second model's cells: its prediction and probabilities, without its row number and error.
    return [String(r.row_no), ...pass, predCell, ...probs, ...c.slice(1 + this.compare.passthrough.length, -1), r.error ?? ''];
  }

  json(r: PredictionRow) {
    const out: Record<string, unknown> = { row: r.row_no };
    if (this.passthrough.length) out.passthrough = Object.fromEntries(this.passthrough.map((p, i) => [p, r.passthrough?.[i] ?? null]));
    out.prediction = this.prediction(r);
    if (this.signature.task === 'classification' && r.scores && !r.error) {
      const names = this.classNames(r.scores.length);
      out.probabilities = Object.fromEntries(r.scores.map((p, i) => [names[i] ?? String(i), p]));
    }
    if (this.compare) {
      const c = this.compare.json(this.compared(r));
      out.compare_prediction = c.prediction;
      if (c.probabilities) out.compare_probabilities = c.probabilities;
    }
    out.error = r.error;
    return out;
  }
}

export interface CsvOptions {
  /** Cells as they are, formula-like or not (?raw=true, for programs rather than spreadsheets). */
  raw?: boolean;
  /** Default ','. */
  delimiter?: string;
}

/**
 * A CSV line. Unless `raw`, a cell a spreadsheet would run as a formula is neutralised (OWASP's
 * CSV injection advice): one starting with = + - @ tab, CR or NUL gets a leading ' and quotes,
 * "=cmd|' /C calc'!A0" → "'=cmd|' /C calc'!A0". A cell that is a plain decimal number (-3.5,
 * +2, -1e-7) is left alone: a number cannot be a formula, and programs reading the file still
 * read it as a number. See docs/security.md, "CSV downloads".
 */
export function csvLine(cells: readonly string[], opts: CsvOptions = {}): string {
  const d = opts.delimiter ?? ',';
  let line = '';
  for (let i = 0; i < cells.length; i++) line += (i ? d : '') + csvCell(cells[i], d, opts.raw === true);
  return line + '\n';
}

const NEEDS_QUOTES = /["\r\n]/;
const FORMULA_START = /^[=+\-@\t\r\0]/;
const PLAIN_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function csvCell(c: string, delimiter: string, raw: boolean): string {
  if (!raw && FORMULA_START.test(c) && !PLAIN_NUMBER.test(c)) return `"'${c.replace(/"/g, '""')}"`;
  return NEEDS_QUOTES.test(c) || c.includes(delimiter) || c.startsWith(' ') || c.endsWith(' ') ? `"${c.replace(/"/g, '""')}"` : c;
}

/** How a job's results read (its pinned version's signature and plan), and its status; null when there is no such job (for this tenant, when given). */
export async function formatterForJob(db: pg.Pool, jobId: string, tenantId?: string): Promise<{ fmt: ResultFormatter; status: JobStatus } | null> {
  const row = await selectJobSignature<Signature, ModelIO>(db, jobId, tenantId);
  return row ? { fmt: formatterOf(row), status: row.status } : null;
}

/** The formatter of a job's versions as read with it: its model's, and a compare job's second model's. */
export function formatterOf(row: { signature: Signature; io: ModelIO; compare_signature: Signature | null; compare_io: ModelIO | null }): ResultFormatter {
  const compare = row.compare_signature && row.compare_io ? new ResultFormatter({ ...row.compare_signature, passthrough: [] }, row.compare_io.plan, row.compare_io.outputs) : undefined;
  return new ResultFormatter(row.signature, row.io.plan, row.io.outputs, compare);
}
