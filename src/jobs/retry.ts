import { Buffer } from 'node:buffer';
import type { Queue } from 'bullmq';
import type pg from 'pg';
import type { Config } from '../config.js';
import { closestName, matchHeader } from '../csv/columnNames.js';
import { MAX_CHUNK_BYTES } from '../csv/records.js';
import { findJobByIdempotencyKey } from '../db/findJobByIdempotencyKey.js';
import { getJobRow } from '../db/getJobRow.js';
import { insertBatchJob } from '../db/insertBatchJob.js';
import { insertRetryChunk } from '../db/insertRetryChunk.js';
import { isFinal, type JobRow } from '../db/jobRow.js';
import { selectJobChain, type ChainJobRow } from '../db/selectJobChain.js';
import { HttpError } from '../errors.js';
import type { Logger } from '../log.js';
import { pinForJob } from '../models/canary.js';
import { neededColumns } from '../models/inputs.js';
import type { ResolvedVersion } from '../models/resolve.js';
import type { Signature } from '../models/signature.js';
import type { ModelIO } from '../models/types.js';
import type { ChunkRef } from '../queue/chunkJobs.js';
import { MAX_RETRY_DEPTH, resultRows } from '../results/readResultChunks.js';
import { RECORD_MAX_BYTES } from '../results/resultRows.js';
import { enqueueChunks } from './enqueue.js';
import type { JobFinishedNotifier } from './finished.js';
import { abortUpload, completeUpload } from './jobEnd.js';
import { assertSameRequest, requestDigest } from './requestDigest.js';
import { viewContext } from './view.js';

// POST /v1/jobs/{id}/retry: a new batch job, linked to the finished job it retries (retry_of),
// holding only that job's failed rows, rebuilt from the raw record kept with each failed row
// (src/results/resultRows.ts, RECORD). The records are the original's as uploaded, so the retry
// reads them as the original did: CSV records under the original's header, delimiter and decimal
// mark (joined by "\n", as intake's chunks are), or JSON records for an online job. Passthrough
// values come from the records themselves. Each retry chunk is stored with the original row
// number of each of its rows (migrations/0016), so the retry's results show those numbers.
//
// The failed rows are streamed from the original's stored results (resultRows, errors only), a
// few chunks at a time, and cut into chunks of CHUNK_ROWS as intake does: memory holds one chunk.
// Everything (job, chunks, row numbers) is stored before anything is enqueued; the job is
// `receiving` until then, and a creation that breaks off ends it failed, as an upload that breaks
// off does (abortUpload). Rows whose record was not kept (larger than RECORD_MAX_BYTES, or stored
// before records were kept) cannot be sent again: they are left out and counted.

export interface RetryDeps {
  config: Config;
  pool: pg.Pool;
  queue: Queue;
  log: Logger;
  notify: JobFinishedNotifier;
}

export interface RetryRequest {
  tenantId: string;
  /** The job whose failed rows are retried. */
  jobId: string;
  /** Another model reference to score them with; null: the version the original was pinned to. */
  model: string | null;
  /** Resolves a model reference for the tenant (the api's cached lookup). */
  resolve: (ref: string) => Promise<ResolvedVersion>;
  callbackUrl: string | null;
  idempotencyKey: string | null;
  /** The request's base URL, for the job's links when PUBLIC_URL is not set. */
  baseUrl: string | null;
}

export interface RetryCounts {
  rowsRetried: number;
  /** Failed rows left out because their input was not kept; null for a replay whose original is gone. */
  rowsWithoutInput: number | null;
}

export type RetryOutcome = { notFound: true } | { job: JobRow; existing: boolean; counts: RetryCounts };

type SourceJob = ChainJobRow<Signature, ModelIO>;

export async function createRetry(deps: RetryDeps, req: RetryRequest): Promise<RetryOutcome> {
  const { pool, config } = deps;
  const key = req.idempotencyKey;
  // A request is the job it retries and its options (the model reference as sent: an alias moved since still replays).
  const digest = key ? requestDigest('batch', { retry_of: req.jobId, model: req.model ?? undefined, callback_url: req.callbackUrl ?? undefined }) : null;
  const earlier = await findJobByIdempotencyKey(pool, req.tenantId, key);
  if (earlier) {
    assertSameRequest(earlier, key!, { request: digest! });
    const [source] = await selectJobChain<Signature, ModelIO>(pool, req.jobId, req.tenantId, 0);
    return { job: earlier, existing: true, counts: replayCounts(earlier, source) };
  }

  const chain = await selectJobChain<Signature, ModelIO>(pool, req.jobId, req.tenantId, MAX_RETRY_DEPTH);
  const source = chain[0];
  if (!source) return { notFound: true };
  if (!isFinal(source.status)) {
    throw new HttpError('job_not_finished', `Job ${source.id} is still ${source.status}; its failed rows can be retried once it has finished (GET /v1/jobs/${source.id}?wait=60 waits for that).`, { status: source.status });
  }
  if (Number(source.rows_failed) === 0) throw new HttpError('nothing_to_retry', `Job ${source.id} has no failed rows: there is nothing to retry.`, { rows_failed: 0 });
  if (chain.length > MAX_RETRY_DEPTH) {
    throw new HttpError(
      'conflict',
      `Job ${source.id} is already a retry ${MAX_RETRY_DEPTH} levels deep; merged results follow at most ${MAX_RETRY_DEPTH} levels. Download its failed rows (?only=errors) and submit them as a new job.`,
    );
  }
  let modelVersionId = Number(source.model_version_id);
  let routing: unknown = null;
  if (req.model) {
    const pinned = pinForJob(await req.resolve(req.model), 'heaviest');
    checkColumns(source, pinned.version);
    modelVersionId = pinned.version.id;
    routing = pinned.routing;
  }

  const view = viewContext(config);
  const chunks = new RetryChunks(source.record_format, config.intake.chunkRows, MAX_CHUNK_BYTES);
  const refs: ChunkRef[] = [];
  let jobId: string | null = null;
  let retried = 0;
  let withoutInput = 0;

  /** The job, made when its first chunk is ready (so a retry with nothing to send makes none); an existing job when a concurrent request with the key won. */
  const startJob = async (): Promise<JobRow | null> => {
    const id = await insertBatchJob(pool, {
      tenantId: req.tenantId, modelVersionId, columns: source.columns, delimiter: source.delimiter, decimal: source.decimal, idempotencyKey: key, requestDigest: digest,
      callbackUrl: req.callbackUrl, maxErrorRate: null, baseUrl: req.baseUrl, routing, retryOf: source.id,
    });
    if (id) {
      jobId = id;
      return null;
    }
    const other = await findJobByIdempotencyKey(pool, req.tenantId, key);
    if (!other) throw new HttpError('idempotency_conflict', 'Another request with this idempotency key was being handled at the same moment and did not produce a job; send the request again.');
    assertSameRequest(other, key!, { request: digest! });
    return other;
  };
  const store = async (c: PendingChunk): Promise<JobRow | null> => {
    if (!jobId) {
      const other = await startJob();
      if (other) return other;
    }
    const stored = await insertRetryChunk(pool, { jobId: jobId!, seq: refs.length, firstRow: retried + 1, format: source.record_format, payload: c.payload, sourceRows: c.sourceRows });
    if (!stored) throw new HttpError('conflict', 'The retry job was cancelled while its rows were being stored.');
    refs.push({ jobId: jobId!, seq: refs.length });
    retried += c.sourceRows.length;
    return null;
  };

  const failed = resultRows(pool, source.id, 0, Infinity, { only: 'errors', records: true, renumbered: source.renumbered });
  try {
    for await (const rows of failed) {
      for (const r of rows) {
        if (!r.record) {
          withoutInput++;
          continue;
        }
        for (const c of chunks.add(r.row_no, r.record)) {
          const other = await store(c);
          if (other) return { job: other, existing: true, counts: replayCounts(other, source) };
        }
      }
    }
    const last = chunks.flush();
    if (last) {
      const other = await store(last);
      if (other) return { job: other, existing: true, counts: replayCounts(other, source) };
    }
  } catch (err) {
    if (jobId) await abandon(deps, jobId, err).catch((e) => deps.log.error({ err: e, job_id: jobId }, 'could not mark the interrupted retry failed'));
    throw err;
  } finally {
    await failed.return(undefined);
  }
  if (!jobId) {
    throw new HttpError(
      'nothing_to_retry',
      `None of the ${withoutInput} failed row(s) of job ${source.id} kept its input (rows scored before inputs were kept, or records over ${RECORD_MAX_BYTES} bytes), so none can be sent again; resubmit them from your own copy of the data.`,
      { rows_failed: Number(source.rows_failed), rows_without_input: withoutInput },
    );
  }
  const adv = await completeUpload(pool, jobId, null, view);
  await deps.notify.afterCommit(adv);
  await enqueueChunks(deps.queue, refs, deps.log, config.worker.chunkAttempts);
  const job = adv.job ?? (await getJobRow(pool, jobId))!;
  return { job, existing: false, counts: { rowsRetried: retried, rowsWithoutInput: withoutInput } };
}

/** A replayed retry's counts: every failed row of the (finished) original was either retried or left out. */
function replayCounts(job: JobRow, source: SourceJob | undefined): RetryCounts {
  return { rowsRetried: job.rows_total, rowsWithoutInput: source ? Math.max(0, Number(source.rows_failed) - job.rows_total) : null };
}

/** Another model must find every column it reads among those the original was given. */
function checkColumns(source: SourceJob, version: ResolvedVersion) {
  const { missing } = matchHeader(source.columns, neededColumns(version.io.plan, version.signature));
  if (!missing.length) return;
  const suggestions = Object.fromEntries(missing.flatMap((m) => {
    const near = closestName(m, source.columns);
    return near === null ? [] : [[m, near]];
  }));
  const named = missing.map((m) => `"${m}"${suggestions[m] !== undefined ? ` (did you mean "${suggestions[m]}"?)` : ''}`);
  throw new HttpError(
    'missing_columns',
    `The rows of job ${source.id} lack ${missing.length} column(s) that ${version.modelName} v${version.version} needs: ${named.join(', ')}. Retry with a model that reads only the job's columns, or submit the fixed rows as a new job.`,
    { missing, found: source.columns.slice(0, 200), suggestions },
  );
}

/** A retry whose creation broke off: failed, its chunks deleted, nothing of it scored as if whole (as an upload that breaks off). */
async function abandon(deps: RetryDeps, jobId: string, err: unknown) {
  const message = err instanceof HttpError ? err.message : 'The retry was interrupted while its rows were being stored; nothing was scored. Ask for the retry again.';
  const adv = await abortUpload(deps.pool, jobId, err instanceof HttpError ? err.code : 'upload_aborted', message, viewContext(deps.config));
  if (adv) await deps.notify.afterCommit(adv);
}

interface PendingChunk {
  payload: Buffer;
  sourceRows: number[];
}

const LF = Buffer.from('\n');
const QUOTE = 0x22;

/**
 * Failed rows' records cut into chunks of at most `chunkRows` records and `maxBytes`, as intake
 * cuts an upload. CSV: the records joined by "\n" (each is an exact CSV record, quotes included).
 * A record with an odd number of quotes (the file's last record, its quote never closed) goes in
 * a chunk of its own, where it cannot swallow the records after it. JSON: an array of the records.
 * Records are copied: a view into a stored chunk of results would keep that whole chunk in memory.
 */
class RetryChunks {
  private records: Buffer[] = [];
  private rows: number[] = [];
  private bytes = 0;

  constructor(private readonly format: 'csv' | 'json', private readonly chunkRows: number, private readonly maxBytes: number) {}

  /** Adds a record; the chunks it completed, in order. */
  add(rowNo: number, record: Uint8Array): PendingChunk[] {
    const out: PendingChunk[] = [];
    const alone = this.format === 'csv' && oddQuotes(record);
    if (this.records.length && (alone || this.bytes + record.byteLength + 1 > this.maxBytes)) out.push(this.flush()!);
    this.records.push(Buffer.from(record));
    this.rows.push(rowNo);
    this.bytes += record.byteLength + 1;
    if (alone || this.records.length >= this.chunkRows) out.push(this.flush()!);
    return out;
  }

  /** The chunk in hand, if any. */
  flush(): PendingChunk | null {
    if (!this.records.length) return null;
    const joined = Buffer.concat(this.records.flatMap((r, i) => (i ? [this.format === 'csv' ? LF : COMMA, r] : [r])));
    const payload = this.format === 'csv' ? joined : Buffer.concat([OPEN, joined, CLOSE]);
    const chunk = { payload, sourceRows: this.rows };
    this.records = [];
    this.rows = [];
    this.bytes = 0;
    return chunk;
  }
}

const COMMA = Buffer.from(',');
const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');

function oddQuotes(record: Uint8Array): boolean {
  let n = 0;
  for (let i = record.indexOf(QUOTE); i !== -1; i = record.indexOf(QUOTE, i + 1)) n++;
  return n % 2 === 1;
}
