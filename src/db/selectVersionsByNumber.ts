import type pg from 'pg';

export interface NumberedVersionRow {
  id: number;
  version: number;
  signature: unknown;
  io: { plan: unknown };
}

/** The model's versions with these numbers (those that exist), for an alias change to check and point at. */
export async function selectVersionsByNumber(db: pg.ClientBase | pg.Pool, modelId: number, versions: number[]): Promise<NumberedVersionRow[]> {
  const { rows } = await db.query<NumberedVersionRow>(
    `SELECT id, version, signature, io FROM model_versions WHERE model_id = $1 AND version = ANY($2::int[])`,
    [modelId, versions],
  );
  return rows;
}
