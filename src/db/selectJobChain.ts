import type pg from 'pg';
import type { JobStatus } from './jobRow.js';

// A job and, following retry_of up to `depth` links, the jobs it retries (POST /v1/jobs/{id}/retry):
// what reading its results needs (the signature and plan of each pinned version, as
// selectJobSignature gives them), how its failed rows' records read, whether its rows stand for
// other rows' numbers, and what a retry of it needs. One query, whatever the depth; depth 0 for
// an ordinary read. The JSON columns are typed by the caller (src/db does not import src/models).

export interface ChainJobRow<Signature, IO> {
  /** 0: the job asked for; 1: the job it retries; … */
  depth: number;
  id: string;
  status: JobStatus;
  kind: 'batch' | 'online';
  /** The upload's header, trimmed (batch); the signature's columns and passthrough (online). */
  columns: string[];
  delimiter: string;
  decimal: '.' | ',';
  model_version_id: number;
  rows_failed: number;
  signature: Signature;
  io: IO;
  compare_signature: Signature | null;
  compare_io: IO | null;
  /** How its rows' raw records read: CSV records, or JSON records (an online job, or a retry of one). */
  record_format: 'csv' | 'json';
  /**
   * Its rows stand for other rows (a retry: retry_row_numbers has its original row numbers). Read
   * from the numbers themselves, not retry_of, which retention clears when the original is deleted.
   */
  renumbered: boolean;
}

const SQL = `
WITH RECURSIVE chain (id, depth) AS (
  SELECT id, 0 FROM jobs WHERE id = $1 AND tenant_id = $2
  UNION ALL
  SELECT p.id, c.depth + 1 FROM chain c JOIN jobs j ON j.id = c.id JOIN jobs p ON p.id = j.retry_of AND p.tenant_id = $2
   WHERE c.depth < $3
)
SELECT c.depth, j.id, j.status, j.kind, j.columns, j.delimiter, j.decimal, j.model_version_id, j.rows_failed,
       mv.signature, mv.io, cmv.signature AS compare_signature, cmv.io AS compare_io,
       CASE WHEN j.kind = 'online' THEN 'json'
            ELSE coalesce((SELECT k.format FROM job_chunks k WHERE k.job_id = j.id ORDER BY k.seq LIMIT 1), 'csv') END AS record_format,
       EXISTS (SELECT 1 FROM retry_row_numbers r WHERE r.job_id = j.id) AS renumbered
  FROM chain c JOIN jobs j ON j.id = c.id
  JOIN model_versions mv ON mv.id = j.model_version_id
  LEFT JOIN model_versions cmv ON cmv.id = j.compare_model_version_id
 ORDER BY c.depth`;

/** The job first, then the job it retries, and so on; empty when the tenant has no such job. */
export async function selectJobChain<Signature, IO>(db: pg.Pool | pg.ClientBase, jobId: string, tenantId: string, depth: number): Promise<ChainJobRow<Signature, IO>[]> {
  const { rows } = await db.query<ChainJobRow<Signature, IO>>({ name: 'sluice_job_chain', text: SQL, values: [jobId, tenantId, depth] });
  return rows;
}
