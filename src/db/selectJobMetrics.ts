import type pg from 'pg';

export interface JobMetricsSource {
  /** Every finished chunk's figures (src/inference/chunkMeasures.ts ChunkMetrics), in no order. */
  partials: unknown[];
  modelVersionId: number;
  signature: unknown;
  plan: unknown;
  compareVersionId: number | null;
  compareSignature: unknown;
  comparePlan: unknown;
}

/** What merging a job's figures needs: its chunks' partial figures and both models' signatures and plans. */
export async function selectJobMetrics(client: pg.ClientBase, jobId: string): Promise<JobMetricsSource | null> {
  const { rows } = await client.query(
    `SELECT (SELECT coalesce(json_agg(metrics), '[]') FROM job_chunk_metrics WHERE job_id = j.id) AS partials,
            j.model_version_id, mv.signature, mv.io->'plan' AS plan,
            j.compare_model_version_id, cmv.signature AS compare_signature, cmv.io->'plan' AS compare_plan
       FROM jobs j JOIN model_versions mv ON mv.id = j.model_version_id
       LEFT JOIN model_versions cmv ON cmv.id = j.compare_model_version_id
      WHERE j.id = $1`,
    [jobId],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    partials: r.partials, modelVersionId: Number(r.model_version_id), signature: r.signature, plan: r.plan,
    compareVersionId: r.compare_model_version_id === null ? null : Number(r.compare_model_version_id), compareSignature: r.compare_signature, comparePlan: r.compare_plan,
  };
}
