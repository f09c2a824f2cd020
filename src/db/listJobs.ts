import type pg from 'pg';
import { JOB_FROM_SQL, JOB_ROW_SQL, type JobRow, type JobStatus } from './jobRow.js';

/**
 * A page of the tenant's jobs, newest first, by keyset on (created_at, id) after `after`. Asks for
 * `limit` rows: the caller asks one more than it shows to learn whether a next page exists. Each
 * row also carries `cursor_t`, its created_at to the microsecond as Postgres keeps it: a Date holds
 * milliseconds, and a keyset cut at the millisecond would skip jobs created in the same one.
 */
export async function listJobs(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  opts: { limit: number; status?: JobStatus; model?: { name: string; version?: number }; after?: { t: string; id: string } | null },
): Promise<(JobRow & { cursor_t: string })[]> {
  const params: unknown[] = [tenantId, opts.limit];
  let where = 'j.tenant_id = $1';
  if (opts.status) where += ` AND j.status = $${params.push(opts.status)}`;
  if (opts.model) where += ` AND m.name = $${params.push(opts.model.name)}`;
  if (opts.model?.version !== undefined) where += ` AND mv.version = $${params.push(opts.model.version)}`;
  if (opts.after) where += ` AND (j.created_at, j.id) < ($${params.push(opts.after.t)}::timestamptz, $${params.push(opts.after.id)}::uuid)`;
  const { rows } = await db.query<JobRow & { cursor_t: string }>(
    `SELECT ${JOB_ROW_SQL}, to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_t
       FROM ${JOB_FROM_SQL} WHERE ${where} ORDER BY j.created_at DESC, j.id DESC LIMIT $2`,
    params,
  );
  return rows;
}
