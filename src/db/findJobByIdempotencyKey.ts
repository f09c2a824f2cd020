import type pg from 'pg';
import { JOB_FROM_SQL, JOB_ROW_SQL, type JobRow } from './jobRow.js';

/** What a replay is compared with (null for jobs stored without them). */
export interface RequestDigests {
  request_digest: string | null;
  body_digest: string | null;
}

/** The tenant's job submitted under this idempotency key, if any, with the digests of the request that made it. */
export async function findJobByIdempotencyKey(db: pg.Pool | pg.ClientBase, tenantId: string, key: string | null): Promise<(JobRow & RequestDigests) | null> {
  if (!key) return null;
  const { rows } = await db.query<JobRow & RequestDigests>(
    `SELECT ${JOB_ROW_SQL}, j.request_digest, j.body_digest FROM ${JOB_FROM_SQL} WHERE j.tenant_id = $1 AND j.idempotency_key = $2`,
    [tenantId, key],
  );
  return rows[0] ?? null;
}
