import type pg from 'pg';
import { agreementReport, mergeAgreementPartials, type AgreementPartial } from '../evaluation/agreement.js';
import { mergeEvalPartials, type EvalPartial } from '../evaluation/partial.js';
import { evaluationReport, type Evaluation } from '../evaluation/report.js';
import { classLabels, compareLabelSpace, type ChunkMetrics } from '../inference/chunkMeasures.js';
import { insertModelEvaluation } from '../db/insertModelEvaluation.js';
import { selectJobMetrics } from '../db/selectJobMetrics.js';
import { storeJobMetrics } from '../db/storeJobMetrics.js';
import type { JobRow } from '../db/jobRow.js';
import type { Signature } from '../models/signature.js';
import type { RunPlan } from '../models/types.js';

/**
 * A confusion matrix this wide would make every read of the job row megabytes (it is classes²
 * numbers); beyond it the per-class figures stay and the matrix is left out.
 */
export const MAX_MATRIX_CLASSES = 100;

/** Whether the job has figures to merge when it ends. */
export const isMeasured = (j: JobRow) => j.label_column !== null || j.compare_model !== null;

/**
 * Runs in the transaction that ends an evaluation or compare job (recordEnds): merges its chunks'
 * partial figures into the job's `evaluation`, `compare_evaluation` and `agreement`, and with
 * ?record=true stores each evaluation on its model version. The job row given is updated to match.
 */
export async function settleJobMetrics(client: pg.ClientBase, job: JobRow): Promise<void> {
  const src = await selectJobMetrics(client, job.id);
  if (!src) return;
  const model = { signature: src.signature as Signature, plan: src.plan as RunPlan };
  const compare = src.compareVersionId !== null ? { signature: src.compareSignature as Signature, plan: src.comparePlan as RunPlan } : null;
  const parts = src.partials as ChunkMetrics[];
  const merged = <T>(pick: (m: ChunkMetrics) => T | undefined, merge: (a: T, b: T) => T): T | null =>
    parts.reduce<T | null>((acc, m) => {
      const p = pick(m);
      return p === undefined ? acc : acc === null ? p : merge(acc, p);
    }, null);
  const evaluation = merged((m) => m.evaluation, mergeEvalPartials);
  const compareEvaluation = merged((m) => m.compare_evaluation, mergeEvalPartials);
  const agreement = merged<AgreementPartial>((m) => m.agreement, mergeAgreementPartials);
  const labels = classLabels(model);
  const report = (p: EvalPartial | null, l: string[] | null) => (p ? capMatrix(evaluationReport(p, l)) : null);
  job.evaluation = job.label_column !== null ? report(evaluation, labels) : null;
  job.compare_evaluation = compare && job.label_column !== null ? report(compareEvaluation, classLabels(compare)) : null;
  job.agreement = compare && agreement ? capAgreement(agreementReport(agreement, labels, compareLabelSpace(labels, classLabels(compare)).labels)) : null;
  await storeJobMetrics(client, job.id, { evaluation: job.evaluation, compareEvaluation: job.compare_evaluation, agreement: job.agreement });

  // Only a complete pass over the dataset is recorded on the model: a failed or cancelled job's figures cover part of it.
  if (!job.record_evaluation || job.status !== 'completed' || job.label_column === null) return;
  const record = (versionId: number, e: unknown) =>
    e ? insertModelEvaluation(client, { modelVersionId: versionId, jobId: job.id, datasetDigest: job.dataset_digest, labelColumn: job.label_column!, rows: (e as Evaluation).rows_evaluated, metrics: e }) : undefined;
  await record(src.modelVersionId, job.evaluation);
  if (src.compareVersionId !== null) await record(src.compareVersionId, job.compare_evaluation);
}

function capMatrix(e: Evaluation): Evaluation {
  if (e.task !== 'classification' || e.confusion_matrix.labels.length <= MAX_MATRIX_CLASSES) return e;
  return { ...e, confusion_matrix: { labels: [], counts: [] } };
}

function capAgreement<T extends object>(a: T): T {
  const m = (a as { disagreement_matrix?: { labels_a: string[]; labels_b: string[] } }).disagreement_matrix;
  if (!m || (m.labels_a.length <= MAX_MATRIX_CLASSES && m.labels_b.length <= MAX_MATRIX_CLASSES)) return a;
  return { ...a, disagreement_matrix: { labels_a: [], labels_b: [], counts: [] } };
}
