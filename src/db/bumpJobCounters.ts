import type pg from 'pg';
import { impliedStatusSql } from './impliedStatusSql.js';
import { JOB_ROW_SQL, UNFINISHED_SQL, type JobRow } from './jobRow.js';

// The counters and the status they imply in one write of each job row (see impliedStatusSql).
const after = {
  chunksDone: 'j.chunks_done + u.chunks', rowsSucceeded: 'j.rows_succeeded + u.succeeded', rowsFailed: 'j.rows_failed + u.failed',
  errorCode: 'coalesce(j.error_code, u.errs[1][1])', errorMessage: 'coalesce(j.error_message, u.errs[1][2])',
};
const settled = impliedStatusSql(after);
const BUMP = `
UPDATE jobs j SET chunks_done = ${after.chunksDone}, rows_succeeded = ${after.rowsSucceeded},
       rows_failed = ${after.rowsFailed}, error_code = ${settled.errorCode},
       error_message = ${settled.errorMessage}, progressed_at = now(),
       -- A small job scored from its records in the queue was never loaded, so never marked started.
       started_at = coalesce(j.started_at, now()),
       status = ${settled.status}, finished_at = ${settled.finishedAt}
  FROM (SELECT job_id, count(*)::int AS chunks, sum(succeeded)::bigint AS succeeded, sum(failed)::bigint AS failed,
               array_agg(ARRAY[code, message]) FILTER (WHERE code IS NOT NULL) AS errs
          FROM unnest($1::uuid[], $2::int[], $3::int[], $4::text[], $5::text[]) AS x(job_id, succeeded, failed, code, message)
         GROUP BY job_id) u,
       model_versions mv JOIN models m ON m.id = mv.model_id
 WHERE j.id = u.job_id AND mv.id = j.model_version_id AND j.status IN ${UNFINISHED_SQL}
RETURNING ${JOB_ROW_SQL}`;

export interface CounterBump {
  jobId: string;
  succeeded: number;
  failed: number;
  /** A job-level reason the chunk could not be scored; the first one a job gets is kept. */
  jobError?: { code: string; message: string };
}

/**
 * Adds finished chunks to their jobs' counters and settles the status the counters imply, in one
 * write of each job row; only unfinished jobs change. Returns the rows of the jobs it changed.
 */
export async function bumpJobCounters(client: pg.ClientBase, bumps: CounterBump[]): Promise<JobRow[]> {
  const { rows } = await client.query<JobRow>({
    name: 'sluice_bump_jobs', text: BUMP,
    values: [bumps.map((b) => b.jobId), bumps.map((b) => b.succeeded), bumps.map((b) => b.failed), bumps.map((b) => b.jobError?.code ?? null), bumps.map((b) => b.jobError?.message ?? null)],
  });
  return rows;
}
