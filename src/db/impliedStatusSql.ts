/**
 * The status (and finished_at, and the job's error) a job's counters imply, as SQL over the job row
 * `j`. The counters are expressions, so an UPDATE that changes them can settle the status in the
 * same statement (bumpJobCounters does: one write of the job row per chunk instead of two).
 *
 * - Every chunk done: `completed` when at least one row was scored; `failed` when none was, with
 *   the job-level reason if there is one (the model did not load, inference kept failing) or
 *   `all_rows_failed` (every row was bad: the summary in job_errors says why).
 * - Too many rows failing (`max_error_rate`, judged once 1,000 rows or the whole job are done):
 *   `failed` `error_rate_exceeded` at once; its remaining chunks are never scored.
 */
export function impliedStatusSql(
  c = { chunksDone: 'j.chunks_done', rowsSucceeded: 'j.rows_succeeded', rowsFailed: 'j.rows_failed', errorCode: 'j.error_code', errorMessage: 'j.error_message' },
) {
  const done = `(j.upload_complete AND ${c.chunksDone} >= j.chunks_total)`;
  const scored = `(${c.rowsSucceeded} + ${c.rowsFailed})`;
  const judged = `(${scored} >= CASE WHEN j.upload_complete THEN least(1000, j.rows_total) ELSE 1000 END)`;
  const tooMany = `(j.max_error_rate IS NOT NULL AND ${judged} AND ${c.rowsFailed} > j.max_error_rate * ${scored})`;
  const noneScored = `(${done} AND ${c.rowsSucceeded} = 0)`;
  return {
    status: `CASE
    WHEN ${noneScored} OR ${tooMany} THEN 'failed'
    WHEN ${done} THEN 'completed'
    WHEN j.upload_complete AND j.started_at IS NOT NULL THEN 'running'
    WHEN j.upload_complete THEN 'queued'
    ELSE 'receiving' END`,
    finishedAt: `CASE WHEN ${done} OR ${tooMany} THEN now() END`,
    errorCode: `CASE
    WHEN ${c.errorCode} IS NOT NULL THEN ${c.errorCode}
    WHEN ${noneScored} THEN 'all_rows_failed'
    WHEN ${tooMany} THEN 'error_rate_exceeded' END`,
    errorMessage: `CASE
    WHEN ${c.errorCode} IS NOT NULL THEN ${c.errorMessage}
    WHEN ${noneScored} THEN 'No row could be scored: every row failed. The job''s errors say why, most frequent first, with the first rows of each.'
    WHEN ${tooMany} THEN format('More than %s%% of the rows scored so far failed (max_error_rate %s): the job was stopped and its remaining rows not scored. The job''s errors say why.', round((j.max_error_rate * 100)::numeric, 2), j.max_error_rate) END`,
  };
}
