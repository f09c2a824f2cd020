import type pg from 'pg';

/**
 * Points the alias at `versionId` (created or moved) and, for a split, stores it with split_at =
 * updated_at = now() so it is in force (migrations/0015_alias_canary.sql); `split` null clears it.
 * `versionId` is the heaviest version of a split, what a release before splits resolves the alias
 * to. The commit fires the NOTIFY of migrations/0006_lookup_notify.sql, so cached references drop
 * it in every api process. Jobs keep the version they pinned. Returns when the change took effect.
 */
export async function writeModelAlias(
  db: pg.ClientBase,
  modelId: number,
  alias: string,
  versionId: number,
  split: { version: number; weight: number }[] | null,
): Promise<Date> {
  const { rows } = await db.query<{ updated_at: Date }>(
    `INSERT INTO model_aliases (model_id, alias, version_id, updated_at, split, split_at)
     VALUES ($1, $2, $3, now(), $4::jsonb, CASE WHEN $4::jsonb IS NULL THEN NULL ELSE now() END)
     ON CONFLICT (model_id, alias) DO UPDATE
       SET version_id = EXCLUDED.version_id, updated_at = EXCLUDED.updated_at, split = EXCLUDED.split, split_at = EXCLUDED.split_at
     RETURNING updated_at`,
    [modelId, alias, versionId, split ? JSON.stringify(split) : null],
  );
  return rows[0].updated_at;
}
