import type pg from 'pg';
import { impliedStatusSql } from './impliedStatusSql.js';
import { JOB_ROW_SQL, UNFINISHED_SQL, type JobRow } from './jobRow.js';

// Moves an unfinished job to the status its counters imply. Runs inside the transaction that
// changed the counters (upload complete), which holds the job row's lock, so exactly one
// transaction sees the job finish. Null when the job is already final (or gone).
const implied = impliedStatusSql();
const SQL = `
UPDATE jobs j SET status = ${implied.status}, finished_at = ${implied.finishedAt}, error_code = ${implied.errorCode}, error_message = ${implied.errorMessage}
FROM model_versions mv JOIN models m ON m.id = mv.model_id
WHERE j.id = $1 AND mv.id = j.model_version_id AND j.status IN ${UNFINISHED_SQL}
RETURNING ${JOB_ROW_SQL}`;

export async function settleJobStatus(client: pg.ClientBase, jobId: string): Promise<JobRow | null> {
  const { rows } = await client.query<JobRow>({ name: 'sluice_advance_job', text: SQL, values: [jobId] });
  return rows[0] ?? null;
}
