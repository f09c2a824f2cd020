import type pg from 'pg';
import { impliedStatusSql } from './impliedStatusSql.js';
import { JOB_ROW_SQL, UNFINISHED_SQL, type JobRow } from './jobRow.js';

// The finishing commit of small jobs' chunks as ONE statement, committed on its own (no BEGIN,
// no COMMIT: one round trip): mark the chunks done, store their results and bump their jobs'
// counters (settling the status they imply), the three writes finishChunks makes in a transaction.
// It takes only what needs nothing more in that transaction: a chunk with no row errors and no
// evaluation figures (checked by the caller), of a job owing no webhook (no callback_url, no
// enabled endpoint of its tenant: an end or a progress event would be a delivery to write in
// the same commit) and measuring nothing (no label column, no compare version: their end merges
// figures). A chunk it leaves alone (done already, its job ended, or one of those) is simply not
// in the answer, and the caller gives it to finishChunks, which decides.
//
// Lock order, as in finishChunks: chunk rows, then job rows. `marked` takes the chunk row locks
// (its read of jobs takes none). The job UPDATE reads its rows from `u`, an aggregate over
// `marked`: a hashed or sorted aggregate returns its first group only after reading all of its
// input, so every chunk row lock of the statement is held before its first job row lock. Cancel,
// aborted uploads and the watchdog take the same order (lockJobForEnd), so none deadlocks with it.
// A redelivered chunk waits on its row lock, then finds it done (the re-check of a row updated
// meanwhile) and changes nothing.
//
// A job that ended (cancel, watchdog) after this statement's snapshot but before its job row lock
// is seen by that re-check on the job UPDATE, which then leaves the job out; its chunk is already
// marked in this statement. The final SELECT then divides by zero (the jobs bumped are fewer than
// the jobs marked), so the whole statement rolls back (SQLSTATE 22012, JobEndedMidFinishError)
// and the caller hands the chunks to finishChunks: nothing is marked or stored for a job that did
// not take the counts.
const after = {
  chunksDone: 'j.chunks_done + u.chunks', rowsSucceeded: 'j.rows_succeeded + u.succeeded', rowsFailed: 'j.rows_failed + u.failed',
  errorCode: 'j.error_code', errorMessage: 'j.error_message',
};
const settled = impliedStatusSql(after);
const FINISH = `
WITH x AS (
  SELECT * FROM unnest($1::uuid[], $2::int[], $3::bigint[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::float8[])
    AS x(job_id, seq, first_row, row_count, succeeded, failed, start, length, started)
), marked AS (
  UPDATE job_chunks c SET status = 'done', payload = NULL, done_at = now()
    FROM jobs j, x
   WHERE c.job_id = x.job_id AND c.seq = x.seq AND c.status = 'pending' AND j.id = c.job_id AND j.status IN ${UNFINISHED_SQL}
     AND j.callback_url IS NULL AND j.label_column IS NULL AND j.compare_model_version_id IS NULL
     AND NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = j.tenant_id AND e.disabled_at IS NULL)
  RETURNING c.job_id, c.seq
), stored AS (
  INSERT INTO prediction_chunks (job_id, first_row, row_count, rows)
  SELECT x.job_id, x.first_row, x.row_count, substring($10::bytea FROM x.start FOR x.length) FROM marked k JOIN x ON x.job_id = k.job_id AND x.seq = k.seq
), u AS (
  SELECT x.job_id, count(*)::int AS chunks, sum(x.succeeded)::bigint AS succeeded, sum(x.failed)::bigint AS failed, min(x.started) AS started
    FROM marked k JOIN x ON x.job_id = k.job_id AND x.seq = k.seq GROUP BY x.job_id
), bumped AS (
  UPDATE jobs j SET chunks_done = ${after.chunksDone}, rows_succeeded = ${after.rowsSucceeded},
         rows_failed = ${after.rowsFailed}, error_code = ${settled.errorCode},
         error_message = ${settled.errorMessage}, progressed_at = now(),
         started_at = coalesce(j.started_at, to_timestamp(u.started / 1000)),
         status = ${settled.status}, finished_at = ${settled.finishedAt}
    FROM u, model_versions mv JOIN models m ON m.id = mv.model_id
   WHERE j.id = u.job_id AND mv.id = j.model_version_id AND j.status IN ${UNFINISHED_SQL}
  RETURNING ${JOB_ROW_SQL}
)
-- One row at least (w), so the check is made even when nothing was bumped.
SELECT w.whole, b.* FROM (SELECT 1 / (CASE WHEN (SELECT count(*) FROM bumped) = (SELECT count(*) FROM u) THEN 1 ELSE 0 END) AS whole) w
  LEFT JOIN bumped b ON true`;

export interface SmallChunkDone {
  jobId: string;
  seq: number;
  firstRow: number;
  rowCount: number;
  succeeded: number;
  failed: number;
  rows: Uint8Array;
  /** When the worker took the chunk (ms since the epoch): the job's started_at if it has none. */
  startedAt: number;
}

/** A job ended while its chunk was being finished: nothing was written; finishChunks decides. */
export class JobEndedMidFinishError extends Error {}

/** The rows of the jobs bumped (each at most once); a chunk whose job is absent was left alone. */
export async function finishSmallChunks(db: pg.Pool | pg.ClientBase, chunks: SmallChunkDone[]): Promise<JobRow[]> {
  const starts: number[] = [];
  let at = 1;
  for (const c of chunks) starts.push(at), (at += c.rows.byteLength);
  const bytes = chunks.length === 1 ? chunks[0].rows : Buffer.concat(chunks.map((c) => c.rows));
  try {
    const { rows } = await db.query<JobRow & { whole: number | null }>({
      name: 'sluice_finish_small_chunks', text: FINISH,
      values: [
        chunks.map((c) => c.jobId), chunks.map((c) => c.seq), chunks.map((c) => c.firstRow), chunks.map((c) => c.rowCount),
        chunks.map((c) => c.succeeded), chunks.map((c) => c.failed), starts, chunks.map((c) => c.rows.byteLength), chunks.map((c) => c.startedAt),
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      ],
    });
    return rows.filter((r) => r.id !== null).map(({ whole: _, ...job }) => job as JobRow);
  } catch (err) {
    if ((err as { code?: unknown }).code === '22012') throw new JobEndedMidFinishError('a job ended while its chunk was being finished', { cause: err });
    throw err;
  }
}
