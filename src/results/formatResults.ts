import type pg from 'pg';
import type { ModelIO, RunPlan } from '../models/types.js';
import type { Signature } from '../models/signature.js';
import type { JobStatus } from '../db/jobRow.js';

export interface PredictionRow {
  row_no: number;
  value: number | null;
  scores: number[] | null;
  passthrough: string[] | null;
  error: string | null;
}

/** Reads stored prediction rows the way the signature says outputs read: labels, probabilities, values. */
export class ResultFormatter {
  readonly labels: string[] | null;
  readonly passthrough: string[];

  constructor(private readonly signature: Signature, plan: RunPlan) {
    this.passthrough = signature.passthrough;
    this.labels = signature.task === 'classification' ? (plan.labels ?? signature.labels ?? null) : null;
  }

  /** Whether the CSV's columns depend on how many classes the rows have (classification without labels). */
  get needsClassCount(): boolean {
    return this.signature.task === 'classification' && !this.labels;
  }

  csvHeader(classCount: number | null): string[] {
    const probs = this.signature.task === 'classification' ? this.classNames(classCount).map((l) => `probability_${l}`) : [];
    return ['row', ...this.passthrough, 'prediction', ...probs, 'error'];
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
    return r.value;
  }

  csvRow(r: PredictionRow, classCount: number | null): string[] {
    const pass = this.passthrough.map((_, i) => r.passthrough?.[i] ?? '');
    const pred = this.prediction(r);
    const predCell = pred === null ? '' : Array.isArray(pred) ? JSON.stringify(pred) : String(pred);
    const probs = this.signature.task === 'classification' ? this.classNames(classCount).map((_, i) => (r.scores?.[i] ?? '').toString()) : [];
    return [String(r.row_no), ...pass, predCell, ...probs, r.error ?? ''];
  }

  json(r: PredictionRow) {
    const out: Record<string, unknown> = { row: r.row_no };
    if (this.passthrough.length) out.passthrough = Object.fromEntries(this.passthrough.map((p, i) => [p, r.passthrough?.[i] ?? null]));
    out.prediction = this.prediction(r);
    if (this.signature.task === 'classification' && r.scores && !r.error) {
      const names = this.classNames(r.scores.length);
      out.probabilities = Object.fromEntries(r.scores.map((p, i) => [names[i] ?? String(i), p]));
    }
    out.error = r.error;
    return out;
  }
}

const NEEDS_QUOTES = /[",\r\n]/;
export function csvLine(cells: string[]): string {
  return cells.map((c) => (NEEDS_QUOTES.test(c) || c.startsWith(' ') || c.endsWith(' ') ? `"${c.replace(/"/g, '""')}"` : c)).join(',') + '\n';
}

/** How a job's results read (its pinned version's signature and plan), and its status; null when there is no such job (for this tenant, when given). */
export async function formatterForJob(db: pg.Pool, jobId: string, tenantId?: string): Promise<{ fmt: ResultFormatter; status: JobStatus } | null> {
  const { rows } = await db.query<{ signature: Signature; io: ModelIO; status: JobStatus }>(
    `SELECT mv.signature, mv.io, j.status FROM jobs j JOIN model_versions mv ON mv.id = j.model_version_id
      WHERE j.id = $1 ${tenantId ? 'AND j.tenant_id = $2' : ''}`,
    tenantId ? [jobId, tenantId] : [jobId],
  );
  return rows[0] ? { fmt: new ResultFormatter(rows[0].signature, rows[0].io.plan), status: rows[0].status } : null;
}
