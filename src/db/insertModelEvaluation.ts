import type pg from 'pg';

/** An evaluation recorded on a model version (?record=true); once per job and version. */
export async function insertModelEvaluation(
  client: pg.ClientBase,
  e: { modelVersionId: number; jobId: string; datasetDigest: string | null; labelColumn: string; rows: number; metrics: unknown },
): Promise<void> {
  await client.query(
    `INSERT INTO model_evaluations (model_version_id, job_id, dataset_digest, label_column, rows, metrics)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id, model_version_id) DO NOTHING`,
    [e.modelVersionId, e.jobId, e.datasetDigest, e.labelColumn, e.rows, JSON.stringify(e.metrics)],
  );
}
