import type pg from 'pg';

// How a job's rows were uploaded, for giving failed rows back in the same shape (GET
// /v1/jobs/{id}/results?only=errors, src/results/errorRows.ts): a batch job's CSV header and
// delimiter (its records are CSV), or an online job's columns (its records are JSON).

export interface JobUploadRow {
  kind: 'batch' | 'online';
  /** The upload's header, trimmed (batch); the signature's columns and passthrough (online). */
  columns: string[];
  delimiter: string;
}

/** Null when there is no such job. */
export async function selectJobUpload(db: pg.Pool | pg.ClientBase, jobId: string): Promise<JobUploadRow | null> {
  const { rows } = await db.query<JobUploadRow>({ name: 'sluice_job_upload', text: 'SELECT kind, columns, delimiter FROM jobs WHERE id = $1', values: [jobId] });
  return rows[0] ?? null;
}
