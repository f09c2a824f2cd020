import type pg from 'pg';

/**
 * Stores the next version of a model (max + 1) and returns its number. The caller holds the model
 * row's lock (ensureModel in the same transaction), so concurrent registrations never collide.
 * `signature` and `io` are stored as jsonb as given (src/models validated them).
 */
export async function insertModelVersion(
  db: pg.ClientBase,
  v: { modelId: number; onnx: Buffer; sha256: string; sizeBytes: number; signature: unknown; io: unknown; metrics: Record<string, unknown> | null; description: string | null },
): Promise<number> {
  const { rows } = await db.query<{ version: number }>(
    `INSERT INTO model_versions (model_id, version, onnx, sha256, size_bytes, signature, io, metrics, description)
     SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8 FROM model_versions WHERE model_id = $1
     RETURNING version`,
    [v.modelId, v.onnx, v.sha256, v.sizeBytes, v.signature, v.io, v.metrics, v.description],
  );
  return rows[0].version;
}
