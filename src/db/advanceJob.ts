import type pg from 'pg';
import { JOB_FROM_SQL, JOB_ROW_SQL, type JobRow } from './jobRow.js';
import { recordJobEvents } from '../webhooks/outbox.js';

/**
 * Moves an unfinished job to the status its counters imply. Runs inside the transaction that
 * changed the counters (chunk done, upload complete), which holds the job row's lock, so exactly
 * one transaction sees the job finish — and that one writes the webhook deliveries.
 *
 * A job fails only when nothing could be scored for a job-level reason (error_code set, no row
 * succeeded); rows that were merely bad leave it completed with a failed-row count.
 */
/**
 * The status (and finished_at) a job's counters imply, as SQL over the job row `j`. The counters
 * are expressions, so an UPDATE that changes them can settle the status in the same statement
 * (finishChunks does: one write of the job row per chunk instead of two).
 */
export function impliedStatusSql(c = { chunksDone: 'j.chunks_done', rowsSucceeded: 'j.rows_succeeded', errorCode: 'j.error_code' }) {
  const done = `j.upload_complete AND ${c.chunksDone} >= j.chunks_total`;
  return {
    status: `CASE
    WHEN ${done} THEN
      CASE WHEN ${c.rowsSucceeded} = 0 AND ${c.errorCode} IS NOT NULL THEN 'failed' ELSE 'completed' END
    WHEN j.upload_complete AND j.started_at IS NOT NULL THEN 'running'
    WHEN j.upload_complete THEN 'queued'
    ELSE 'receiving' END`,
    finishedAt: `CASE WHEN ${done} THEN now() END`,
  };
}

const implied = impliedStatusSql();
const ADVANCE = `
UPDATE jobs j SET status = ${implied.status}, finished_at = ${implied.finishedAt}
FROM model_versions mv JOIN models m ON m.id = mv.model_id
WHERE j.id = $1 AND mv.id = j.model_version_id AND j.status IN ('receiving', 'queued', 'running')
RETURNING ${JOB_ROW_SQL}`;

export interface Advanced {
  job: JobRow | null;
  /** True when this call moved the job to a final status. */
  finished: boolean;
  deliveries: string[];
}

export async function advanceJob(client: pg.ClientBase, jobId: string, baseUrl: string): Promise<Advanced> {
  const { rows } = await client.query<JobRow>({ name: 'sluice_advance_job', text: ADVANCE, values: [jobId] });
  return (await withEndEvents(client, rows, baseUrl)).get(jobId) ?? { job: null, finished: false, deliveries: [] };
}

/** Jobs whose status an UPDATE has just settled (same transaction): those that ended get their webhook events, in one insert. */
export async function withEndEvents(client: pg.ClientBase, rows: JobRow[], baseUrl: string): Promise<Map<string, Advanced>> {
  const ended = rows.filter((job) => job.status === 'completed' || job.status === 'failed');
  const deliveries = await recordJobEvents(client, ended.map((job) => ({ job, type: job.status === 'completed' ? 'job.completed' : 'job.failed' })), baseUrl);
  return new Map(rows.map((job) => [job.id, { job, finished: deliveries.has(job.id), deliveries: deliveries.get(job.id) ?? [] }]));
}

export async function getJobRow(client: pg.ClientBase | pg.Pool, jobId: string, tenantId?: string): Promise<JobRow | null> {
  const { rows } = await client.query<JobRow>(
    `SELECT ${JOB_ROW_SQL} FROM ${JOB_FROM_SQL} WHERE j.id = $1 ${tenantId ? 'AND j.tenant_id = $2' : ''}`,
    tenantId ? [jobId, tenantId] : [jobId],
  );
  return rows[0] ?? null;
}
