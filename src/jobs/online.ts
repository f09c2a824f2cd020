import type pg from 'pg';
import type { ResolvedVersion } from '../models/resolve.js';

/**
 * A small job from POST /v1/predictions: the job, its one chunk (the records as JSON) and its
 * counters in one statement, so it is durable before anyone is told it exists.
 */
const SQL = `
WITH j AS (
  INSERT INTO jobs (tenant_id, model_version_id, kind, status, columns, upload_complete, rows_total, chunks_total, idempotency_key, callback_url)
  VALUES ($1, $2, 'online', 'queued', $3, true, $4, 1, $6, $7)
  ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
  RETURNING id)
INSERT INTO job_chunks (job_id, seq, first_row, row_count, format, payload)
SELECT j.id, 0, 1, $4, 'json', $5 FROM j
RETURNING job_id`;

export async function createOnlineJob(
  db: pg.Pool,
  o: { tenantId: string; version: ResolvedVersion; records: unknown[]; idempotencyKey: string | null; callbackUrl: string | null },
): Promise<string | null> {
  const columns = [...o.version.signature.columns, ...o.version.signature.passthrough];
  const { rows } = await db.query<{ job_id: string }>(SQL, [
    o.tenantId, o.version.id, columns, o.records.length, Buffer.from(JSON.stringify(o.records)), o.idempotencyKey, o.callbackUrl,
  ]);
  return rows[0]?.job_id ?? null;
}
