import type pg from 'pg';
import type { OnlineJobInput } from './insertOnlineJob.js';

/**
 * Many small jobs (without idempotency keys) in ONE statement, so one commit makes them all
 * durable: the write behind group commit (groupCommit.ts). Ids are chosen here, so the caller can
 * start waiting for a job before any worker could have finished it.
 *
 * $1: jsonb array of {id, tenant_id, model_version_id, columns (text[] as a JSON array), rows, payload (the records' JSON text), callback_url, base_url, routing (jsonb or null)}
 */
const MANY_SQL = `
WITH input AS (
  SELECT x.* FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, tenant_id uuid, model_version_id bigint, columns jsonb, rows integer, payload text, callback_url text, base_url text, routing jsonb)
), j AS (
  INSERT INTO jobs (id, tenant_id, model_version_id, kind, status, columns, upload_complete, rows_total, chunks_total, callback_url, base_url, routing)
  SELECT id, tenant_id, model_version_id, 'online', 'queued', ARRAY(SELECT jsonb_array_elements_text(columns)), true, rows, 1, callback_url, base_url, routing FROM input
  RETURNING id)
INSERT INTO job_chunks (job_id, seq, first_row, row_count, format, payload)
SELECT j.id, 0, 1, input.rows, 'json', convert_to(input.payload, 'UTF8') FROM j JOIN input USING (id)
RETURNING job_id`;

/** Stores every job given (ids chosen by the caller) or throws; the statement is one commit's worth. */
export async function insertOnlineJobs(db: pg.Pool | pg.ClientBase, jobs: (OnlineJobInput & { id: string })[]): Promise<void> {
  const input = jobs.map((j) => ({ id: j.id, tenant_id: j.tenantId, model_version_id: j.modelVersionId, columns: j.columns, rows: j.rows, payload: j.payload, callback_url: j.callbackUrl, base_url: j.baseUrl, routing: j.routing ?? null }));
  const { rows } = await db.query<{ job_id: string }>({ name: 'sluice_online_jobs', text: MANY_SQL, values: [JSON.stringify(input)] });
  if (rows.length !== input.length) throw new Error(`stored ${rows.length} of ${input.length} online jobs`);
}
