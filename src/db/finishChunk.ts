import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ChunkRef } from '../queue/payloads.js';
import { recordProgress } from '../webhooks/outbox.js';
import { advanceJob, type Advanced } from './advanceJob.js';

export interface ChunkOutcome {
  ref: ChunkRef;
  /** COPY text of every row of the chunk: predictions and row errors alike. */
  copy: Uint8Array;
  succeeded: number;
  failed: number;
  /** Set when the chunk could not be scored for a job-level reason (model does not load, inference keeps failing). */
  jobError?: { code: string; message: string };
}

/**
 * The chunk's predictions, its done-mark and the job's counters commit together, or not at all.
 * The chunk row is locked first (by its done-mark): a redelivered chunk finds it done and changes
 * nothing, so every row ends with exactly one result.
 *
 * Lock order: chunk row, then job row. Whatever else ends a job (cancel, aborted upload, watchdog)
 * takes them in the same order (lockJobForEnd), so the two never deadlock.
 */
export async function finishChunk(pool: pg.Pool, o: ChunkOutcome, baseUrl: string, progressIntervalMs: number): Promise<(Advanced & { applied: true }) | { applied: false }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Marking the chunk done first takes its row lock: a redelivered chunk (or one stalled and
    // retried while the first try still runs) waits here, then finds it done and changes nothing.
    const marked = await client.query(
      `UPDATE job_chunks c SET status = 'done', payload = NULL, done_at = now() FROM jobs j
        WHERE c.job_id = $1 AND c.seq = $2 AND c.status = 'pending' AND j.id = c.job_id
          AND j.status IN ('receiving', 'queued', 'running')`,
      [o.ref.jobId, o.ref.seq],
    );
    if (marked.rowCount !== 1) {
      await client.query('ROLLBACK');
      return { applied: false };
    }
    await pipeline(Readable.from([Buffer.from(o.copy.buffer, o.copy.byteOffset, o.copy.byteLength)]), client.query(copyFrom(
      'COPY predictions (job_id, row_no, value, scores, passthrough, error) FROM STDIN',
    )));
    // The status check sits on the UPDATE that takes the job row lock: a cancel (or the watchdog)
    // that committed while this transaction was copying is seen here, and the chunk's rows go back.
    const bumped = await client.query(
      `UPDATE jobs SET chunks_done = chunks_done + 1, rows_succeeded = rows_succeeded + $2, rows_failed = rows_failed + $3,
              error_code = coalesce(error_code, $4), error_message = coalesce(error_message, $5), progressed_at = now()
        WHERE id = $1 AND status IN ('receiving', 'queued', 'running')`,
      [o.ref.jobId, o.succeeded, o.failed, o.jobError?.code ?? null, o.jobError?.message ?? null],
    );
    if (bumped.rowCount !== 1) {
      await client.query('ROLLBACK');
      return { applied: false };
    }
    const advanced = await advanceJob(client, o.ref.jobId, baseUrl);
    if (!advanced.finished && advanced.job) advanced.deliveries.push(...(await recordProgress(client, advanced.job, baseUrl, { intervalMs: progressIntervalMs })));
    await client.query('COMMIT');
    return { ...advanced, applied: true };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
