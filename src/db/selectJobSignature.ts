import type pg from 'pg';
import type { JobStatus } from './jobRow.js';

// What reading a job's results needs (src/results/formatResults.ts): the signature and plan of the
// model version the job is pinned to, and the job's status. The JSON columns are typed by the
// caller (src/models describes them; src/db does not import it).

export interface JobSignatureRow<Signature, IO> {
  signature: Signature;
  io: IO;
  status: JobStatus;
  /** A compare job's second version (null otherwise). */
  compare_signature: Signature | null;
  compare_io: IO | null;
}

/** Null when there is no such job (for this tenant, when given). */
export async function selectJobSignature<Signature, IO>(db: pg.Pool | pg.ClientBase, jobId: string, tenantId?: string): Promise<JobSignatureRow<Signature, IO> | null> {
  const { rows } = await db.query<JobSignatureRow<Signature, IO>>(
    `SELECT mv.signature, mv.io, j.status, cmv.signature AS compare_signature, cmv.io AS compare_io
       FROM jobs j JOIN model_versions mv ON mv.id = j.model_version_id
       LEFT JOIN model_versions cmv ON cmv.id = j.compare_model_version_id
      WHERE j.id = $1 ${tenantId ? 'AND j.tenant_id = $2' : ''}`,
    tenantId ? [jobId, tenantId] : [jobId],
  );
  return rows[0] ?? null;
}
