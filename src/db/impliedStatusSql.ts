/**
 * The status (and finished_at) a job's counters imply, as SQL over the job row `j`. The counters
 * are expressions, so an UPDATE that changes them can settle the status in the same statement
 * (bumpJobCounters does: one write of the job row per chunk instead of two).
 *
 * A job fails only when nothing could be scored for a job-level reason (error_code set, no row
 * succeeded); rows that were merely bad leave it completed with a failed-row count.
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
