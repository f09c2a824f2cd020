import type pg from 'pg';
import { EVALUATION_COLUMNS, type EvaluationRow } from './evaluationRow.js';

/** The latest recorded evaluation of each of the model's versions given (those that have one): what a promotion guard checks. */
export async function selectLatestEvaluations(db: pg.ClientBase | pg.Pool, modelId: number, versions: number[]): Promise<EvaluationRow[]> {
  const { rows } = await db.query<EvaluationRow>(
    `SELECT DISTINCT ON (mv.id) ${EVALUATION_COLUMNS}
       FROM model_versions mv JOIN model_evaluations e ON e.model_version_id = mv.id
      WHERE mv.model_id = $1 AND mv.version = ANY($2::int[])
      ORDER BY mv.id, e.created_at DESC, e.id DESC`,
    [modelId, versions],
  );
  return rows;
}
