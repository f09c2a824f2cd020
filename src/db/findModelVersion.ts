import type pg from 'pg';

/** A version as jobs pin it. `signature` and `io` are the jsonb src/models stored (typed there). */
export interface PinnedVersionRow {
  id: number;
  version: number;
  signature: unknown;
  io: unknown;
}

/**
 * The tenant's version of model `name` that a reference names: by `alias`, by `version` number,
 * else the latest. Null when there is none. Tenant-scoped: another tenant's models never resolve.
 */
export async function findModelVersion(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  ref: { name: string; version?: number; alias?: string },
): Promise<PinnedVersionRow | null> {
  const { name, version, alias } = ref;
  const where = alias
    ? `mv.id = (SELECT version_id FROM model_aliases a WHERE a.model_id = m.id AND a.alias = $3)`
    : version !== undefined
      ? `mv.version = $3`
      : `mv.version = (SELECT max(version) FROM model_versions WHERE model_id = m.id)`;
  const params: unknown[] = [tenantId, name];
  if (alias) params.push(alias);
  else if (version !== undefined) params.push(version);
  const { rows } = await db.query<PinnedVersionRow>(
    `SELECT mv.id, mv.version, mv.signature, mv.io FROM models m JOIN model_versions mv ON mv.model_id = m.id
      WHERE m.tenant_id = $1 AND m.name = $2 AND ${where}`,
    params,
  );
  return rows[0] ?? null;
}
