import type pg from 'pg';

/**
 * A version's ONNX bytes (read apart from its plan: a worker fetches them only when its file cache
 * lacks them). Versions are immutable and never deleted, so an id a job pinned is always found.
 */
export async function getModelOnnx(db: pg.Pool | pg.ClientBase, versionId: number): Promise<Buffer> {
  const { rows } = await db.query<{ onnx: Buffer }>('SELECT onnx FROM model_versions WHERE id = $1', [versionId]);
  return rows[0].onnx;
}
