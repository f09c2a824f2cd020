import type { Queue } from 'bullmq';
import type pg from 'pg';
import type { Config } from '../config.js';
import { deleteJob } from '../db/deleteJob.js';
import { findJobByIdempotencyKey } from '../db/findJobByIdempotencyKey.js';
import { getJobRow } from '../db/getJobRow.js';
import { insertBatchJob } from '../db/insertBatchJob.js';
import { insertChunk } from '../db/insertChunk.js';
import { HttpError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ResolvedVersion } from '../models/resolve.js';
import { neededColumns } from '../models/inputs.js';
import { Chunker, CsvLimitError, type Chunk } from '../csv/records.js';
import { JsonLinesChunker, JsonLinesError } from '../csv/ndjson.js';
import { closestName, matchHeader } from '../csv/columnNames.js';
import { crLineEnds } from '../csv/crLineEnds.js';
import { parseHeader } from '../csv/header.js';
import type { JobRow } from '../db/jobRow.js';
import { enqueueChunks } from './enqueue.js';
import type { JobFinishedNotifier } from './finished.js';
import { abortUpload, completeUpload } from './jobEnd.js';
import { assertSameRequest, bodyDigest } from './requestDigest.js';
import { viewContext } from './view.js';

export interface IntakeDeps {
  config: Config;
  pool: pg.Pool;
  queue: Queue;
  log: Logger;
  notify: JobFinishedNotifier;
}

export interface IntakeRequest {
  tenantId: string;
  version: ResolvedVersion;
  delimiter: string;
  /** The submitting request's base URL, for the job's links when PUBLIC_URL is not set. */
  baseUrl: string | null;
  /** The decimal mark of the upload's numbers. */
  decimal: '.' | ',';
  callbackUrl: string | null;
  idempotencyKey: string | null;
  /** With an idempotency key: the request's digest; the body's is taken as it streams (requestDigest.ts). */
  requestDigest: string | null;
  /** Fail the job fast once more than this share of its rows (0–1) failed; null: never. */
  maxErrorRate: number | null;
  /** An evaluation job: the column of true labels (checked in the header like the model's columns). */
  labelColumn?: string | null;
  /** A compare job: the second version every row is scored with (its columns must be in the header too). */
  compare?: ResolvedVersion | null;
  /** ?record=true: the evaluation is stored on the model version when the job completes. */
  recordEvaluation?: boolean;
  /** How a split alias chose `version` (src/models/canary.ts), shown with the job. */
  routing?: unknown;
  /** What the body holds: CSV with a header (the default), or JSON Lines (one object a line). */
  format?: 'csv' | 'jsonl';
  /** The upload as read (decompressed already, if it was sent compressed). */
  body: AsyncIterable<Buffer>;
}

/**
 * Streams an upload into durable chunks. The header (CSV) or the first record (JSON Lines) is
 * checked against the signature before any row is accepted; each chunk is stored, then enqueued,
 * before the next bytes are read (so memory holds one chunk, whatever the file size, and workers
 * start while the upload still arrives). The job only counts as whole once the last byte is
 * stored: until then it is `receiving`, and an upload that breaks off ends `failed` with its
 * chunks deleted. CSV chunks hold CSV records; JSON Lines chunks hold JSON arrays of records, the
 * chunks single predictions use, scored by the same workers.
 */
export function intakeUpload(deps: IntakeDeps, req: IntakeRequest): Promise<{ job: JobRow; existing: boolean }> {
  const p = intake(deps, req);
  inFlight.add(p);
  p.then(() => inFlight.delete(p), () => inFlight.delete(p));
  return p;
}

const inFlight = new Set<Promise<unknown>>();

/**
 * Settles once every upload now in progress has ended: stored whole (202), or failed and cleaned up.
 * The api's shutdown awaits it before closing the pool, so no upload is left half-recorded.
 */
export async function uploadsSettled(): Promise<void> {
  await Promise.allSettled([...inFlight]);
}

/**
 * What intake needs of a format: bytes in, chunks out, and the columns once the header (CSV) or
 * the first record (JSON Lines) is in, checked against the job's models (null before).
 */
interface UploadReader {
  readonly chunkFormat: 'csv' | 'json';
  readonly rows: number;
  push(buf: Buffer): void;
  end(): void;
  drain(): Chunk[];
  columns(): string[] | null;
  /** The 422 for an upload without a single record. */
  readonly empty: string;
}

function csvReader(config: Config, req: IntakeRequest): UploadReader {
  const chunker = new Chunker({ maxRecordBytes: config.intake.maxRecordBytes, chunkRows: config.intake.chunkRows });
  const lineEnds = crLineEnds();
  return {
    chunkFormat: 'csv',
    get rows() {
      return chunker.rows;
    },
    push: (buf) => chunker.push(lineEnds.push(buf)),
    end() {
      const tail = lineEnds.end();
      if (tail.length) chunker.push(tail);
      chunker.end();
    },
    drain: () => chunker.drain(),
    columns() {
      if (!chunker.header) return null;
      const columns = checkHeader(chunker.header, req.delimiter, req.version, config.intake.maxColumns);
      if (req.compare) checkHeader(chunker.header, req.delimiter, req.compare, config.intake.maxColumns);
      if (req.labelColumn) checkLabelColumn(columns, req.labelColumn);
      return columns;
    },
    empty: 'The upload is empty: send a CSV with a header row and at least one data row.',
  };
}

function jsonLinesReader(config: Config, req: IntakeRequest): UploadReader {
  const chunker = new JsonLinesChunker({ maxRecordBytes: config.intake.maxRecordBytes, chunkRows: config.intake.chunkRows });
  return {
    chunkFormat: 'json',
    get rows() {
      return chunker.rows;
    },
    push: (buf) => chunker.push(buf),
    end: () => chunker.end(),
    drain: () => chunker.drain(),
    columns() {
      if (!chunker.first) return null;
      const keys = Object.keys(chunker.first);
      if (keys.length > config.intake.maxColumns) throw new HttpError('too_many_columns', `The first record has ${keys.length} keys; at most ${config.intake.maxColumns} are allowed (MAX_COLUMNS).`);
      checkRecordKeys(keys, req.version);
      if (req.compare) checkRecordKeys(keys, req.compare);
      if (req.labelColumn && !keys.includes(req.labelColumn)) {
        const near = closestName(req.labelColumn, keys);
        throw new HttpError(
          'missing_label_column',
          `The first record has no key "${req.labelColumn}"${near === null ? '' : ` (did you mean "${near}"? JSON keys are matched exactly)`}: label_column names the key holding each record's true label.`,
          { missing: [req.labelColumn], found: keys.slice(0, 200) },
        );
      }
      return keys;
    },
    empty: 'The upload is empty: send JSON Lines, one JSON object a line.',
  };
}

async function intake(deps: IntakeDeps, req: IntakeRequest): Promise<{ job: JobRow; existing: boolean }> {
  const { config, pool, log } = deps;
  const view = viewContext(config);
  const reader = req.format === 'jsonl' ? jsonLinesReader(config, req) : csvReader(config, req);
  // Only a request that can be replayed (it has an idempotency key) pays for hashing its body, and
  // an evaluation, whose figures name the dataset they are about by this digest.
  const digest = req.idempotencyKey || req.labelColumn ? bodyDigest() : null;
  let jobId: string | null = null;
  let bytes = 0;

  const storeChunks = async () => {
    const chunks = reader.drain();
    for (const c of chunks) {
      if (c.firstRow + c.rowCount - 1 > config.intake.maxRowsPerJob) {
        throw new HttpError('too_many_rows', `The upload has more than ${config.intake.maxRowsPerJob} data rows (MAX_ROWS_PER_JOB); split it into several jobs.`);
      }
      const stored = await insertChunk(pool, { jobId: jobId!, seq: c.seq, firstRow: c.firstRow, rowCount: c.rowCount, format: reader.chunkFormat, payload: c.payload, lines: c.lines });
      if (!stored) throw new HttpError('job_not_cancellable', 'The job was cancelled while it was being uploaded.');
    }
    await enqueueChunks(deps.queue, chunks.map((c) => ({ jobId: jobId!, seq: c.seq })), log, config.worker.chunkAttempts);
  };

  const startJob = async (columns: string[]): Promise<{ job: JobRow; existing: boolean } | null> => {
    const id = await insertBatchJob(pool, {
      tenantId: req.tenantId, modelVersionId: req.version.id, columns, delimiter: req.delimiter, idempotencyKey: req.idempotencyKey, requestDigest: req.requestDigest, callbackUrl: req.callbackUrl, maxErrorRate: req.maxErrorRate, decimal: req.decimal, baseUrl: req.baseUrl,
      labelColumn: req.labelColumn ?? null, compareVersionId: req.compare?.id ?? null, recordEvaluation: req.recordEvaluation ?? false, routing: req.routing ?? null,
    });
    if (id) {
      jobId = id;
      return null;
    }
    // Another request with the same idempotency key won the race: answer with its job.
    const existing = await findJobByIdempotencyKey(pool, req.tenantId, req.idempotencyKey);
    if (!existing) throw new HttpError('idempotency_conflict', 'Another request with this idempotency key was being handled at the same moment and did not produce a job; send the upload again.');
    if (req.requestDigest) assertSameRequest(existing, req.idempotencyKey!, { request: req.requestDigest });
    return { job: existing, existing: true };
  };

  try {
    for await (const buf of req.body) {
      bytes += buf.length;
      if (bytes > config.intake.maxUploadBytes) {
        throw new HttpError('payload_too_large', `The upload is larger than ${config.intake.maxUploadBytes} bytes (MAX_UPLOAD_BYTES); split it into several jobs.`);
      }
      digest?.update(buf);
      reader.push(buf);
      const columns = jobId ? null : reader.columns();
      if (columns) {
        const other = await startJob(columns);
        if (other) return other;
      }
      if (jobId) await storeChunks();
    }
    reader.end();
    if (!jobId) {
      const columns = reader.columns();
      if (!columns) throw new HttpError('empty_upload', reader.empty);
      const other = await startJob(columns);
      if (other) return other;
    }
    await storeChunks();
    if (reader.rows === 0) {
      await deleteJob(pool, jobId!);
      jobId = null;
      throw new HttpError('empty_upload', 'The upload has a header but no data rows.');
    }
    const adv = await completeUpload(pool, jobId!, digest?.digest() ?? null, view);
    await deps.notify.afterCommit(adv);
    return { job: adv.job ?? (await getJobRow(pool, jobId!))!, existing: false };
  } catch (err) {
    if (jobId) await abandonUpload(deps, jobId, err).catch((e) => log.error({ err: e, job_id: jobId }, 'could not mark the aborted upload failed'));
    if (err instanceof CsvLimitError) throw csvError(err);
    if (err instanceof JsonLinesError) throw new HttpError(err.code, err.message, { line: err.line }, {}, { cause: err });
    throw err;
  }
}

/**
 * A JSON Lines upload's first record must hold every key the model reads. Keys are matched
 * exactly, as the worker reads them (and as POST /v1/predictions does); a near miss is named.
 */
function checkRecordKeys(keys: string[], version: ResolvedVersion) {
  const missing = neededColumns(version.io.plan, version.signature).filter((c) => !keys.includes(c));
  if (!missing.length) return;
  const suggestions = Object.fromEntries(missing.flatMap((m) => {
    const near = closestName(m, keys);
    return near === null ? [] : [[m, near]];
  }));
  const named = missing.map((m) => `"${m}"${suggestions[m] !== undefined ? ` (did you mean "${suggestions[m]}"?)` : ''}`);
  throw new HttpError(
    'missing_columns',
    `The first record lacks ${missing.length} key(s) that ${version.modelName} v${version.version} needs: ${named.join(', ')}. JSON keys are matched exactly, case included.`,
    { missing, found: keys.slice(0, 200), suggestions },
  );
}

function checkHeader(record: Buffer, delimiter: string, version: ResolvedVersion, maxColumns: number): string[] {
  let columns: string[];
  try {
    columns = parseHeader(record, delimiter);
  } catch (err) {
    if (err instanceof CsvLimitError) throw csvError(err);
    throw err;
  }
  if (columns.length > maxColumns) throw new HttpError('too_many_columns', `The header has ${columns.length} columns; at most ${maxColumns} are allowed (MAX_COLUMNS).`);
  const { missing, duplicated } = matchHeader(columns, neededColumns(version.io.plan, version.signature));
  if (missing.length) {
    const hint = columns.length === 1 && delimiter === ',' && /[;\t]/.test(columns[0]) ? ' The header looks delimited by ";" or tab: pass delimiter=";" or delimiter=tab.' : '';
    const suggestions = Object.fromEntries(missing.flatMap((m) => {
      const near = closestName(m, columns);
      return near === null ? [] : [[m, near]];
    }));
    const named = missing.map((m) => `"${m}"${suggestions[m] !== undefined ? ` (did you mean "${suggestions[m]}"?)` : ''}`);
    throw new HttpError(
      'missing_columns',
      `The CSV header lacks ${missing.length} column(s) that ${version.modelName} v${version.version} needs: ${named.join(', ')}.${hint}`,
      { missing, found: columns.slice(0, 200), suggestions },
    );
  }
  if (duplicated.length) {
    throw new HttpError(
      'duplicate_columns',
      `The CSV header names ${duplicated.map((d) => `"${d}"`).join(', ')} more than once (names are compared ignoring case); which one to read would be a guess. Rename or drop the extra column(s).`,
      { duplicated },
    );
  }
  return columns;
}

/** The label column must be in the header, by the name the worker reads it under (names match ignoring case, as for the model's columns). */
function checkLabelColumn(columns: string[], label: string) {
  const { missing } = matchHeader(columns, [label]);
  if (!missing.length) return;
  const near = closestName(label, columns);
  throw new HttpError(
    'missing_label_column',
    `The CSV header has no label column "${label}"${near === null ? '' : ` (did you mean "${near}"?)`}: label_column names the column holding each row's true label.`,
    { missing: [label], found: columns.slice(0, 200) },
  );
}

function csvError(err: CsvLimitError): HttpError {
  const code = err.code === 'record_too_large' ? 'record_too_large' : 'invalid_csv';
  return new HttpError(code, err.message, {}, {}, { cause: err });
}

/** An upload that broke off: nothing of it is scored as if it were whole. */
async function abandonUpload(deps: IntakeDeps, jobId: string, err: unknown) {
  const refused = err instanceof HttpError || err instanceof CsvLimitError || err instanceof JsonLinesError;
  const aborted = !refused || (err instanceof HttpError && err.code === 'upload_aborted');
  const code = aborted ? 'upload_aborted' : err instanceof HttpError || err instanceof JsonLinesError ? err.code : 'invalid_csv';
  const message = aborted ? 'The upload was interrupted before it was complete; nothing was scored. Upload the file again.' : (err as Error).message;
  const adv = await abortUpload(deps.pool, jobId, code, message, viewContext(deps.config));
  if (adv) await deps.notify.afterCommit(adv);
}
