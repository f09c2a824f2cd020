// A row of model_evaluations (migrations/0014_model_lifecycle.sql): an evaluation recorded on a version.
export interface EvaluationRow {
  id: number;
  /** The version's number (the model is the caller's). */
  version: number;
  job_id: string;
  dataset_digest: string | null;
  label_column: string;
  rows: number;
  /** The job's `evaluation` object as the evaluation job stored it (src/evaluation/report.ts). */
  metrics: Record<string, unknown>;
  created_at: Date;
}

export const EVALUATION_COLUMNS = `e.id, mv.version, e.job_id, e.dataset_digest, e.label_column, e.rows, e.metrics, e.created_at`;
