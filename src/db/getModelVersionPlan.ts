import type pg from 'pg';

/** What a worker needs to run a version, without its bytes; null when there is no such version. */
export async function getModelVersionPlan(db: pg.Pool | pg.ClientBase, versionId: number): Promise<{ signature: unknown; io: unknown; sha256: string } | null> {
  const { rows } = await db.query<{ signature: unknown; io: unknown; sha256: string }>('SELECT signature, io, sha256 FROM model_versions WHERE id = $1', [versionId]);
  return rows[0] ?? null;
}
