import type pg from 'pg';

/** A version as jobs pin it. `signature` and `io` are the jsonb src/models stored (typed there). */
export interface PinnedVersionRow {
  id: number;
  version: number;
  signature: unknown;
  io: unknown;
}

/** A version a reference names; through an alias split between versions, with its weight (else null or absent). */
export interface AliasVersionRow extends PinnedVersionRow {
  weight?: number | null;
}

// An alias resolves to the versions of its split while the split is in force (split_at =
// updated_at, migrations/0015_alias_canary.sql), else to version_id alone. Two branches of one
// statement, each an index lookup, so the uncached read stays one round trip.
const ALIAS_SQL = `
SELECT (e->>'weight')::int AS weight, mv.id, mv.version, mv.signature, mv.io FROM models m JOIN model_aliases a ON a.model_id = m.id
  CROSS JOIN LATERAL jsonb_array_elements(a.split) e
  JOIN model_versions mv ON mv.model_id = m.id AND mv.version = (e->>'version')::int
 WHERE m.tenant_id = $1 AND m.name = $2 AND a.alias = $3 AND a.split_at = a.updated_at
UNION ALL
SELECT NULL, mv.id, mv.version, mv.signature, mv.io FROM models m JOIN model_aliases a ON a.model_id = m.id JOIN model_versions mv ON mv.id = a.version_id
 WHERE m.tenant_id = $1 AND m.name = $2 AND a.alias = $3 AND (a.split IS NULL OR a.split_at IS DISTINCT FROM a.updated_at)`;

/**
 * The tenant's versions of model `name` that a reference names: by `alias` (every version of its
 * split, each with its weight, or its one version with weight null), by `version` number, else the
 * latest. Empty when there is none. Tenant-scoped: another tenant's models never resolve.
 */
export async function findModelVersion(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  ref: { name: string; version?: number; alias?: string },
): Promise<AliasVersionRow[]> {
  const { name, version, alias } = ref;
  if (alias) return (await db.query<AliasVersionRow>(ALIAS_SQL, [tenantId, name, alias])).rows;
  const where = version !== undefined ? `mv.version = $3` : `mv.version = (SELECT max(version) FROM model_versions WHERE model_id = m.id)`;
  const params: unknown[] = [tenantId, name];
  if (version !== undefined) params.push(version);
  const { rows } = await db.query<AliasVersionRow>(
    `SELECT mv.id, mv.version, mv.signature, mv.io FROM models m JOIN model_versions mv ON mv.model_id = m.id
      WHERE m.tenant_id = $1 AND m.name = $2 AND ${where}`,
    params,
  );
  return rows;
}
