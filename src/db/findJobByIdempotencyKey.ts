import type pg from 'pg';
import { JOB_FROM_SQL, JOB_ROW_SQL, type JobRow } from './jobRow.js';

/** The tenant's job submitted under this idempotency key, if any. */
export async function findJobByIdempotencyKey(db: pg.Pool | pg.ClientBase, tenantId: string, key: string | null): Promise<JobRow | null> {
  if (!key) return null;
  const { rows } = await db.query<JobRow>(`SELECT ${JOB_ROW_SQL} FROM ${JOB_FROM_SQL} WHERE j.tenant_id = $1 AND j.idempotency_key = $2`, [tenantId, key]);
  return rows[0] ?? null;
}
