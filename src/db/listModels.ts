import type pg from 'pg';

export interface ModelSummaryRow {
  name: string;
  created_at: Date;
  latest_version: number;
  versions: number;
  /** alias → version number. */
  aliases: Record<string, number>;
}

/**
 * A page of the tenant's models by name, each with its latest version, version count and aliases:
 * `limit` rows after the name `after` (keyset; names are unique per tenant). The caller asks one
 * more than it shows to learn whether a next page exists.
 */
export async function listModels(db: pg.Pool | pg.ClientBase, tenantId: string, page: { limit: number; after?: string | null }): Promise<ModelSummaryRow[]> {
  const { rows } = await db.query<ModelSummaryRow>(
    `SELECT m.name, m.created_at, max(mv.version) AS latest_version, count(mv.id)::int AS versions,
            coalesce((SELECT jsonb_object_agg(a.alias, v.version) FROM model_aliases a JOIN model_versions v ON v.id = a.version_id WHERE a.model_id = m.id), '{}') AS aliases
       FROM models m JOIN model_versions mv ON mv.model_id = m.id
      WHERE m.tenant_id = $1 AND ($3::text IS NULL OR m.name > $3)
      GROUP BY m.id ORDER BY m.name LIMIT $2`,
    [tenantId, page.limit, page.after ?? null],
  );
  return rows;
}
