import type pg from 'pg';
import { JOB_FROM_SQL, JOB_ROW_SQL, type JobRow } from './jobRow.js';

/** One job, scoped to the tenant when one is given (every read on behalf of a caller passes it). */
export async function getJobRow(db: pg.ClientBase | pg.Pool, jobId: string, tenantId?: string): Promise<JobRow | null> {
  const { rows } = await db.query<JobRow>(
    `SELECT ${JOB_ROW_SQL} FROM ${JOB_FROM_SQL} WHERE j.id = $1 ${tenantId ? 'AND j.tenant_id = $2' : ''}`,
    tenantId ? [jobId, tenantId] : [jobId],
  );
  return rows[0] ?? null;
}
