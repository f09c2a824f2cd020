import type pg from 'pg';

/**
 * A batch job starts `receiving` once its header is checked. Null when the tenant already has a job
 * under this idempotency key (another request won the race; the caller answers with that job).
 */
export async function insertBatchJob(
  db: pg.Pool | pg.ClientBase,
  j: { tenantId: string; modelVersionId: number; columns: string[]; delimiter: string; idempotencyKey: string | null; requestDigest: string | null; callbackUrl: string | null; maxErrorRate: number | null; decimal: '.' | ','; baseUrl: string | null },
): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO jobs (tenant_id, model_version_id, kind, status, columns, delimiter, idempotency_key, callback_url, request_digest, max_error_rate, decimal, base_url)
     VALUES ($1, $2, 'batch', 'receiving', $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id`,
    [j.tenantId, j.modelVersionId, j.columns, j.delimiter, j.idempotencyKey, j.callbackUrl, j.requestDigest, j.maxErrorRate, j.decimal, j.baseUrl],
  );
  return rows[0]?.id ?? null;
}
