import type pg from 'pg';

/**
 * Chunks' evaluation/compare figures, in the transaction that stores their results (so each
 * chunk's are written exactly once, like its rows). Merged when the job ends (selectJobMetrics).
 */
export async function insertChunkMetrics(client: pg.ClientBase, rows: { jobId: string; seq: number; metrics: unknown }[]): Promise<void> {
  await client.query(
    `INSERT INTO job_chunk_metrics (job_id, seq, metrics) SELECT * FROM unnest($1::uuid[], $2::int[], $3::jsonb[])`,
    [rows.map((r) => r.jobId), rows.map((r) => r.seq), rows.map((r) => JSON.stringify(r.metrics))],
  );
}
