import type pg from 'pg';
import { EVALUATION_COLUMNS, type EvaluationRow } from './evaluationRow.js';

/** The latest `perVersion` recorded evaluations of each of these versions of the tenant's model, newest first within a version. */
export async function listVersionEvaluations(db: pg.Pool | pg.ClientBase, tenantId: string, name: string, versions: number[], perVersion: number): Promise<EvaluationRow[]> {
  if (!versions.length) return [];
  const { rows } = await db.query<EvaluationRow>(
    `SELECT ${EVALUATION_COLUMNS} FROM models m JOIN model_versions mv ON mv.model_id = m.id
       CROSS JOIN LATERAL (SELECT * FROM model_evaluations x WHERE x.model_version_id = mv.id ORDER BY x.created_at DESC, x.id DESC LIMIT $4) e
      WHERE m.tenant_id = $1 AND m.name = $2 AND mv.version = ANY($3::int[])
      ORDER BY mv.version, e.created_at DESC, e.id DESC`,
    [tenantId, name, versions, perVersion],
  );
  return rows;
}
