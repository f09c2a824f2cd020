import type pg from 'pg';

/** A model version as the models api shows it, with the aliases pointing at it (null when none). */
export interface VersionRow {
  name: string;
  version: number;
  created_at: Date;
  sha256: string;
  size_bytes: number;
  signature: unknown;
  io: { inputs: unknown[]; outputs: unknown[]; rewrites: string[]; plan: unknown };
  metrics: Record<string, unknown> | null;
  description: string | null;
  aliases: string[] | null;
}

const VERSION_SQL = `SELECT m.name, mv.version, mv.created_at, mv.sha256, mv.size_bytes, mv.signature, mv.io, mv.metrics, mv.description,
  (SELECT array_agg(a.alias ORDER BY a.alias) FROM model_aliases a WHERE a.version_id = mv.id) AS aliases
  FROM models m JOIN model_versions mv ON mv.model_id = m.id`;

/**
 * The tenant's versions of a model, oldest first; never the ONNX bytes. `version` a number: only
 * that one (then at most one row). `version` a page: `limit` versions after version `after`
 * (keyset; the caller asks one more than it shows). Nothing given: all of them.
 * An empty list: no such model (or version, or none after `after`) for this tenant.
 */
export async function listModelVersions(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  name: string,
  version?: number | { limit: number; after?: number | null },
): Promise<VersionRow[]> {
  if (typeof version === 'number') {
    return (await db.query<VersionRow>(`${VERSION_SQL} WHERE m.tenant_id = $1 AND m.name = $2 AND mv.version = $3`, [tenantId, name, version])).rows;
  }
  if (version) {
    return (await db.query<VersionRow>(`${VERSION_SQL} WHERE m.tenant_id = $1 AND m.name = $2 AND mv.version > $4 ORDER BY mv.version LIMIT $3`, [tenantId, name, version.limit, version.after ?? 0])).rows;
  }
  return (await db.query<VersionRow>(`${VERSION_SQL} WHERE m.tenant_id = $1 AND m.name = $2 ORDER BY mv.version`, [tenantId, name])).rows;
}
