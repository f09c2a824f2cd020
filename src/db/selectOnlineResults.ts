import type pg from 'pg';
import { JOB_FROM_SQL, JOB_ROW_SQL, type JobRow } from './jobRow.js';

/**
 * Finished small jobs and their results in one round trip (a job with no results, e.g. cancelled,
 * still gives its job row). Requests woken together read together (see the predictions route).
 * Rows come ordered by job, then by chunk; a job without results has one row with a null first_row.
 */
const RESULTS_SQL = `
SELECT ${JOB_ROW_SQL}, pc.first_row, pc.row_count, pc.rows, pc.error
  FROM ${JOB_FROM_SQL} LEFT JOIN prediction_chunks pc ON pc.job_id = j.id
 WHERE j.id = ANY($1::uuid[])
 ORDER BY j.id, pc.first_row`;

export type OnlineResultRow = JobRow & { first_row: number | null; row_count: number; rows: Buffer | null; error: string | null };

export async function selectOnlineResults(db: pg.Pool | pg.ClientBase, jobIds: string[]): Promise<OnlineResultRow[]> {
  const { rows } = await db.query<OnlineResultRow>({ name: 'sluice_online_results', text: RESULTS_SQL, values: [jobIds] });
  return rows;
}
