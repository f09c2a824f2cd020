import type pg from 'pg';

/**
 * A batch job starts `receiving` once its header is checked. Null when the tenant already has a job
 * under this idempotency key (another request won the race; the caller answers with that job).
 */
export async function insertBatchJob(
  db: pg.Pool | pg.ClientBase,
  j: { tenantId: string; modelVersionId: number; columns: string[]; delimiter: string; idempotencyKey: string | null; requestDigest: string | null; callbackUrl: string | null; maxErrorRate: number | null; decimal: '.' | ','; baseUrl: string | null;
     /** Evaluation and compare jobs (migrations/0014); routing: how a split alias chose the version. */
     labelColumn?: string | null; compareVersionId?: number | null; recordEvaluation?: boolean; routing?: unknown;
     /** A retry of that job's failed rows (POST /v1/jobs/{id}/retry). */
     retryOf?: string | null },
): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO jobs (tenant_id, model_version_id, kind, status, columns, delimiter, idempotency_key, callback_url, request_digest, max_error_rate, decimal, base_url,
                       label_column, compare_model_version_id, record_evaluation, routing, retry_of)
     VALUES ($1, $2, 'batch', 'receiving', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id`,
    [
      j.tenantId, j.modelVersionId, j.columns, j.delimiter, j.idempotencyKey, j.callbackUrl, j.requestDigest, j.maxErrorRate, j.decimal, j.baseUrl,
      j.labelColumn ?? null, j.compareVersionId ?? null, j.recordEvaluation ?? false, j.routing == null ? null : JSON.stringify(j.routing),
      j.retryOf ?? null,
    ],
  );
  return rows[0]?.id ?? null;
}
