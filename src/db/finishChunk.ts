import type pg from 'pg';
import { splitResultRows } from '../inference/result-rows.js';
import type { ChunkRef } from '../queue/payloads.js';
import { recordProgress } from '../webhooks/outbox.js';
import { JOB_ROW_SQL, type JobRow } from './jobRow.js';
import { impliedStatusSql, withEndEvents, type Advanced } from './advanceJob.js';

export interface ChunkOutcome {
  ref: ChunkRef;
  firstRow: number;
  rowCount: number;
  /** Every row's result, in order (result-rows.ts): predictions and row errors alike. */
  rows: Uint8Array;
  succeeded: number;
  failed: number;
  /** Set when the chunk could not be scored for a job-level reason (model does not load, inference keeps failing). */
  jobError?: { code: string; message: string };
}

export type Finished = (Advanced & { applied: true }) | { applied: false };

/** A job ended (cancel, watchdog) while a group of its chunks was being finished: finish them one by one. */
export class JobEndedMidGroupError extends Error {}

// One statement for every chunk of the commit. Their results go as ONE bytea parameter, cut in
// SQL: node-postgres sends a Buffer as binary, while an array of them would go as hex text (twice
// the bytes, encoded in the worker and decoded by the backend).
const STORE = `
INSERT INTO prediction_chunks (job_id, first_row, row_count, rows)
SELECT c.job_id, c.first_row, c.row_count, substring($6::bytea FROM c.start FOR c.length)
  FROM unnest($1::uuid[], $2::bigint[], $3::int[], $4::int[], $5::int[]) AS c(job_id, first_row, row_count, start, length)`;

type Stored = { jobId: string; firstRow: number; rowCount: number; rows: Uint8Array };

/**
 * Stores chunks' results (result-rows.ts), a row of prediction_chunks each, with one statement. A
 * chunk's results beyond `maxValueBytes` go as several rows (split between rows), and a statement
 * carries at most `maxStatementBytes`, more statements otherwise: Postgres takes at most 1 GB in a
 * value or a parameter. The limits are parameters for the tests.
 */
export async function storeResults(client: pg.ClientBase, chunks: Stored[], limits = { maxValueBytes: 64 << 20, maxStatementBytes: 256 << 20 }): Promise<void> {
  const pieces = chunks.flatMap((c) => splitResultRows(c.rows, c.firstRow, c.rowCount, limits.maxValueBytes).map((p) => ({ jobId: c.jobId, ...p })));
  for (let i = 0; i < pieces.length; ) {
    const batch: Stored[] = [];
    let bytes = 0;
    while (i < pieces.length && (batch.length === 0 || bytes + pieces[i].rows.byteLength <= limits.maxStatementBytes)) {
      bytes += pieces[i].rows.byteLength;
      batch.push(pieces[i++]);
    }
    await storeBatch(client, batch);
  }
}

async function storeBatch(client: pg.ClientBase, chunks: Stored[]): Promise<void> {
  const starts: number[] = [];
  let at = 1;
  for (const c of chunks) starts.push(at), (at += c.rows.byteLength);
  const bytes = chunks.length === 1 ? chunks[0].rows : Buffer.concat(chunks.map((c) => c.rows));
  await client.query({
    name: 'sluice_store_results', text: STORE,
    values: [chunks.map((c) => c.jobId), chunks.map((c) => c.firstRow), chunks.map((c) => c.rowCount), starts, chunks.map((c) => c.rows.byteLength), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)],
  });
}

const MARK = `
UPDATE job_chunks c SET status = 'done', payload = NULL, done_at = now()
  FROM jobs j, unnest($1::uuid[], $2::int[]) AS r(job_id, seq)
 WHERE c.job_id = r.job_id AND c.seq = r.seq AND c.status = 'pending' AND j.id = c.job_id
   AND j.status IN ('receiving', 'queued', 'running')
RETURNING c.job_id, c.seq`;

// The counters and the status they imply in one write of each job row (see impliedStatusSql).
const after = { chunksDone: 'j.chunks_done + u.chunks', rowsSucceeded: 'j.rows_succeeded + u.succeeded', errorCode: 'coalesce(j.error_code, u.errs[1][1])' };
const settled = impliedStatusSql(after);
const BUMP = `
UPDATE jobs j SET chunks_done = ${after.chunksDone}, rows_succeeded = ${after.rowsSucceeded},
       rows_failed = j.rows_failed + u.failed, error_code = ${after.errorCode},
       error_message = coalesce(j.error_message, u.errs[1][2]), progressed_at = now(),
       status = ${settled.status}, finished_at = ${settled.finishedAt}
  FROM (SELECT job_id, count(*)::int AS chunks, sum(succeeded)::bigint AS succeeded, sum(failed)::bigint AS failed,
               array_agg(ARRAY[code, message]) FILTER (WHERE code IS NOT NULL) AS errs
          FROM unnest($1::uuid[], $2::int[], $3::int[], $4::text[], $5::text[]) AS x(job_id, succeeded, failed, code, message)
         GROUP BY job_id) u,
       model_versions mv JOIN models m ON m.id = mv.model_id
 WHERE j.id = u.job_id AND mv.id = j.model_version_id AND j.status IN ('receiving', 'queued', 'running')
RETURNING ${JOB_ROW_SQL}`;

/**
 * The chunks' predictions, their done-marks and their jobs' counters commit together, or not at
 * all. Marking a chunk done takes its row lock first: a redelivered chunk (or one stalled and
 * retried while the first try still runs) waits, then finds it done and changes nothing, so every
 * row ends with exactly one result. Several chunks (the small jobs of one inference batch) go in
 * one transaction of a fixed number of round trips; one chunk is the same with a list of one.
 *
 * Lock order: chunk rows, then job rows. Whatever else ends a job (cancel, aborted upload,
 * watchdog) takes them in the same order (lockJobForEnd), so the two never deadlock. The status
 * check sits on the UPDATE that takes the job row lock: a job that ended while this transaction
 * was storing is seen there, and its chunks go back.
 */
export async function finishChunks(pool: pg.Pool, outcomes: ChunkOutcome[], baseUrl: string, progressIntervalMs: number): Promise<Finished[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const marked = await client.query<{ job_id: string; seq: number }>({ name: 'sluice_mark_chunks', text: MARK, values: [outcomes.map((o) => o.ref.jobId), outcomes.map((o) => o.ref.seq)] });
    const isMarked = new Set(marked.rows.map((r) => `${r.job_id}_${r.seq}`));
    const kept = outcomes.filter((o) => isMarked.has(`${o.ref.jobId}_${o.ref.seq}`));
    if (kept.length === 0) {
      await client.query('ROLLBACK');
      return outcomes.map(() => ({ applied: false }));
    }
    await storeResults(client, kept.map((o) => ({ jobId: o.ref.jobId, firstRow: o.firstRow, rowCount: o.rowCount, rows: o.rows })));
    const bumped = await client.query<JobRow>({
      name: 'sluice_bump_jobs', text: BUMP,
      values: [kept.map((o) => o.ref.jobId), kept.map((o) => o.succeeded), kept.map((o) => o.failed), kept.map((o) => o.jobError?.code ?? null), kept.map((o) => o.jobError?.message ?? null)],
    });
    const jobIds = [...new Set(kept.map((o) => o.ref.jobId))];
    if (bumped.rows.length !== jobIds.length) {
      await client.query('ROLLBACK');
      if (outcomes.length === 1) return [{ applied: false }];
      throw new JobEndedMidGroupError('a job ended while its chunks were being finished');
    }
    const advanced = await withEndEvents(client, bumped.rows, baseUrl);
    for (const adv of advanced.values()) {
      if (!adv.finished && adv.job) adv.deliveries.push(...(await recordProgress(client, adv.job, baseUrl, { intervalMs: progressIntervalMs })));
    }
    await client.query('COMMIT');
    // Each job's news (finished, deliveries) goes with its first chunk here, so it is told once.
    const told = new Set<string>();
    return outcomes.map((o): Finished => {
      if (!isMarked.has(`${o.ref.jobId}_${o.ref.seq}`)) return { applied: false };
      const adv = advanced.get(o.ref.jobId) ?? { job: null, finished: false, deliveries: [] };
      if (told.has(o.ref.jobId)) return { applied: true, job: adv.job, finished: false, deliveries: [] };
      told.add(o.ref.jobId);
      return { ...adv, applied: true };
    });
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
