import type pg from 'pg';

/**
 * A small job from POST /v1/predictions: the job, its one chunk (the records as JSON) and its
 * counters in one statement, so it is durable before anyone is told it exists.
 */
const SQL = `
WITH j AS (
  INSERT INTO jobs (tenant_id, model_version_id, kind, status, columns, upload_complete, rows_total, chunks_total, idempotency_key, callback_url, request_digest, body_digest, base_url, routing)
  VALUES ($1, $2, 'online', 'queued', $3, true, $4, 1, $6, $7, $8, $9, $10, $11::jsonb)
  ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
  RETURNING id)
INSERT INTO job_chunks (job_id, seq, first_row, row_count, format, payload)
SELECT j.id, 0, 1, $4, 'json', $5 FROM j
RETURNING job_id`;

export interface OnlineJobInput {
  tenantId: string;
  modelVersionId: number;
  columns: string[];
  rows: number;
  /** The records as JSON text. */
  payload: string;
  callbackUrl: string | null;
  /** The base of the job's links when PUBLIC_URL is not set: the submitting request's own. */
  baseUrl: string | null;
  /** How an alias split between versions chose the version (jobs.routing, src/models/canary.ts); null when it did not choose. */
  routing: unknown;
}

/** Null when the tenant already has a job under this idempotency key. */
export async function insertOnlineJob(
  db: pg.Pool | pg.ClientBase,
  j: OnlineJobInput & { idempotencyKey: string | null; requestDigest: string | null; bodyDigest: string | null },
): Promise<string | null> {
  const { rows } = await db.query<{ job_id: string }>(SQL, [j.tenantId, j.modelVersionId, j.columns, j.rows, Buffer.from(j.payload), j.idempotencyKey, j.callbackUrl, j.requestDigest, j.bodyDigest, j.baseUrl, j.routing == null ? null : JSON.stringify(j.routing)]);
  return rows[0]?.job_id ?? null;
}
