import type pg from 'pg';
import { getJobRow, type Advanced } from './advanceJob.js';
import { failUpload } from './failUpload.js';
import { lockJobForEnd } from './lockJobForEnd.js';
import { withTransaction } from './pool.js';
import { recordJobEvent } from '../webhooks/outbox.js';

/** Unfinished jobs that have not progressed for `timeoutMs`: the watchdog's candidates. */
export async function staleJobs(pool: pg.Pool, timeoutMs: number, limit: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM jobs WHERE status IN ('receiving', 'queued', 'running')
        AND progressed_at < now() - make_interval(secs => $1::double precision / 1000)
      ORDER BY progressed_at LIMIT $2`,
    [timeoutMs, limit],
  );
  return rows.map((r) => r.id);
}

// One result row per chunk not done, saying the error of all its rows.
const ERROR_ROWS = `
INSERT INTO prediction_chunks (job_id, first_row, row_count, error)
SELECT c.job_id, c.first_row, c.row_count, $2 FROM job_chunks c
 WHERE c.job_id = $1 AND c.status = 'pending'
ON CONFLICT DO NOTHING`;

/**
 * Ends a job the watchdog found stuck, in one transaction, after checking under lock that it is
 * still unfinished and still without progress (a chunk finishing meanwhile saves it).
 *  - An upload that never completed (its api process died mid-stream): failed `upload_aborted`,
 *    chunks and partial results deleted, as for a client that disconnects.
 *  - A queued or running job: every row of every chunk not yet done gets an error, so the job
 *    still accounts for each row exactly once; failed `job_stalled`; results so far stay readable.
 */
export async function failStalledJob(pool: pg.Pool, jobId: string, timeoutMs: number, baseUrl: string): Promise<Advanced | null> {
  return withTransaction(pool, async (client) => {
    const job = await lockJobForEnd(client, jobId);
    const stale = job && ['receiving', 'queued', 'running'].includes(job.status) && job.idle_ms >= timeoutMs;
    if (!job || !stale) return null;
    const minutes = Math.round(timeoutMs / 60_000);
    const idle = minutes >= 1 ? `${minutes} minute(s)` : `${Math.round(timeoutMs / 1000)} second(s)`;
    if (job.status === 'receiving') {
      const message = `The upload stopped before it was complete and nothing arrived for ${idle}; nothing was scored. Upload the file again.`;
      return failUpload(client, jobId, 'upload_aborted', message, baseUrl);
    }
    const message = `The job made no progress for ${idle} (JOB_STALL_TIMEOUT_MS) and was stopped; rows not scored by then carry this error.`;
    await client.query(ERROR_ROWS, [jobId, 'not scored: the job made no progress and was stopped by the watchdog']);
    const { rows } = await client.query<{ n: string | null }>(
      `WITH d AS (UPDATE job_chunks SET status = 'done', payload = NULL, done_at = now() WHERE job_id = $1 AND status = 'pending' RETURNING row_count)
       SELECT sum(row_count) AS n FROM d`,
      [jobId],
    );
    await client.query(
      `UPDATE jobs SET status = 'failed', error_code = 'job_stalled', error_message = $2, finished_at = now(), progressed_at = now(),
              chunks_done = chunks_total, rows_failed = rows_failed + $3 WHERE id = $1`,
      [jobId, message, Number(rows[0]?.n ?? 0)],
    );
    const row = await getJobRow(client, jobId);
    const deliveries = row ? await recordJobEvent(client, row, 'job.failed', baseUrl) : [];
    return { job: row, finished: true, deliveries };
  });
}
