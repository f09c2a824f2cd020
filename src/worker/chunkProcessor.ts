import path from 'node:path';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type pg from 'pg';
import type { Config } from '../config.js';
import { InferenceError, UnavailableError } from '../errors.js';
import { scrubOrtMessage } from '../inference/ortMessage.js';
import { ModelMemoryError } from '../inference/pool.js';
import type { ChunkOutcome, Finished } from '../jobs/finishChunks.js';
import { loadChunks, type LoadedChunk } from '../db/loadChunk.js';
import { encodeResultRows } from '../results/resultRows.js';
import type { Part, PartResult } from '../inference/thread.js';
import type { JobFinishedNotifier } from '../jobs/finished.js';
import { isFinal } from '../db/jobRow.js';
import type { Logger } from '../log.js';
import { CHUNK_GROUP_JOB, ChunkGroup, ChunkRef, chunkJobId, type InlineChunk } from '../queue/chunkJobs.js';
import type { ModelCache, WorkerModel } from './models.js';
import type { ScoreExtras } from './scoring.js';
import { rawCsvRecords } from '../csv/rawRecords.js';
import { inSpan } from '../tracing/spans.js';
import type { ChunkRecorder } from '../metrics/chunkRecorder.js';

export interface ChunkProcessorDeps {
  config: Config;
  pool: pg.Pool;
  log: Logger;
  models: ModelCache;
  notify: JobFinishedNotifier;
  /** Commits chunks' outcomes (one result each, in order): batch chunks one by one, small jobs group-committed with others. */
  finish: (outcomes: ChunkOutcome[]) => Promise<Finished[]>;
  /** Scores one part: batch chunks go straight to the thread pool, small jobs through the dynamic batcher. */
  infer: (model: WorkerModel, part: Part, extras?: ScoreExtras) => Promise<PartResult>;
  /** The metrics of the queue this processor consumes (load and commit times, rows and chunks committed). */
  record?: ChunkRecorder;
}

const DB_RETRY_MS = 2000;

/**
 * One BullMQ job (a chunk, or a group of small jobs' chunks): load from Postgres, score on an
 * inference thread, commit the results. A group is loaded by one statement and its outcomes are
 * committed together; a chunk of it that failed is retried with the group, whose finished chunks
 * are then found done and skipped.
 * Failures are sorted by what retrying could change:
 *  - a malformed queue payload: unrecoverable;
 *  - Postgres unavailable (UnavailableError, src/db/pool.ts): after a pause, put back on the queue
 *    without spending a BullMQ attempt (Redis away is BullMQ's own to wait out: it reconnects);
 *  - the model fails on this chunk (InferenceError): retried by BullMQ; on the last attempt, or
 *    once the chunk has been started too often (crash loops), its rows get errors and the job goes on.
 */
export function createChunkProcessor(deps: ChunkProcessorDeps) {
  const { config, pool, log } = deps;
  const maxStarts = config.worker.chunkAttempts + config.worker.maxStalledCount + 1;
  // Job errors are read by the tenant: no path of this host (the model cache, onnxruntime's sources).
  const userText = (message: string) => scrubOrtMessage(message, { [path.resolve(config.worker.modelCacheDir)]: 'the model cache', [config.worker.modelCacheDir]: 'the model cache' });

  // Every line about a job says which job, chunk, tenant and model version it is about.
  const chunkLog = (ref: ChunkRef, chunk: Chunk) =>
    log.child({ job_id: ref.jobId, chunk: ref.seq, tenant: chunk.tenantId, model: chunk.modelName, version: chunk.modelVersion });

  return async (job: Job, token?: string) => {
    const refs = refsOf(job);
    const takenAt = Date.now();
    try {
      // A small job's records that rode in the queue need no load (chunkJobs.ts InlineChunk); the
      // others come from Postgres, their starts counted there. A copy is scored as if loaded: the
      // finishing commit still requires the stored chunk pending and its job unfinished.
      const toLoad = refs.filter((r) => !r.inline);
      const loadStarted = performance.now();
      const loaded: Map<string, Chunk> = toLoad.length ? await inSpan('chunk.load', () => loadChunks(pool, toLoad), { 'sluice.chunks': toLoad.length }) : new Map();
      if (toLoad.length) deps.record?.stage('load', (performance.now() - loadStarted) / 1000);
      const work = refs.flatMap((ref) => {
        const chunk = ref.inline ? queuedChunk(ref.inline) : loaded.get(chunkJobId(ref));
        return chunk && chunk.status !== 'done' && !isFinal(chunk.jobStatus) && (chunk.payload || chunk.records) ? [{ ref, chunk }] : [];
      });
      if (!work.length) return 'skipped';
      // Start and end lines at info for uploads; a single prediction's (a JSON chunk) at debug, or a
      // busy worker would log two lines for every prediction it answers.
      for (const { ref, chunk } of work) {
        const level = chunk.format === 'json' ? 'debug' : 'info';
        if (chunk.startedJob && log.isLevelEnabled(level)) chunkLog(ref, chunk)[level]({ first_row: chunk.firstRow }, 'job started');
      }
      // Uploads only (a single prediction's one news is its end), and only a job this load moved
      // from queued to running (jobStatus is read before the load's update); one still receiving
      // its upload stays receiving.
      const nowRunning = work.filter(({ chunk }) => chunk.startedJob && chunk.jobStatus === 'queued' && chunk.format === 'csv');
      void deps.notify.started(nowRunning.map(({ ref, chunk }) => ({ id: ref.jobId, tenant: chunk.tenantId })));
      const scored = await Promise.allSettled(
        work.map(({ ref, chunk }) =>
          chunk.starts > maxStarts
            ? failedChunk(ref, chunk, `the chunk was started ${chunk.starts - 1} times without finishing (its worker crashed or stalled each time)`, 'chunk_abandoned')
            : inSpan('chunk.inference', () => score(ref, chunk, job), { 'sluice.job_id': ref.jobId, 'sluice.chunk': ref.seq, 'sluice.rows': chunk.rowCount }),
        ),
      );
      const outcomes = scored.flatMap((s) => (s.status === 'fulfilled' ? [{ ...s.value, startedAt: takenAt }] : []));
      const commitStarted = performance.now();
      const finished = outcomes.length ? await inSpan('chunk.commit', () => deps.finish(outcomes), { 'sluice.chunks': outcomes.length }) : [];
      if (outcomes.length) deps.record?.stage('commit', (performance.now() - commitStarted) / 1000);
      const applied = finished.flatMap((f, i) => (f.applied ? [{ ...f, rows: outcomes[i].rows }] : []));
      if (deps.record) {
        const chunkOf = new Map(work.map((w) => [w.ref, w.chunk]));
        deps.record.committed(finished.flatMap((f, i) => {
          const o = outcomes[i];
          const c = chunkOf.get(o.ref);
          return f.applied ? [{ succeeded: o.succeeded, failed: o.failed, chunkFailed: !!o.jobError, model: c?.modelName ?? null, version: c?.modelVersion ?? null }] : [];
        }));
      }
      if (applied.length) await inSpan('chunk.publish', () => deps.notify.afterCommitMany(applied));
      const failure = scored.find((s) => s.status === 'rejected');
      if (failure) throw failure.reason;
      return applied.length ? 'done' : 'duplicate';
    } catch (err) {
      if (err instanceof UnavailableError && token) {
        // Back off holding the slot (the lock keeps being renewed), so a worker does not churn
        // through the whole queue putting every chunk back while Postgres is away.
        log.warn({ err: err.message, job_id: refs[0].jobId, chunk: refs[0].seq, chunks: refs.length }, 'database unavailable; chunk put back');
        await new Promise((r) => setTimeout(r, DB_RETRY_MS));
        await job.moveToDelayed(Date.now() + DB_RETRY_MS / 2, token);
        throw new DelayedError();
      }
      throw err;
    }
  };

  async function score(ref: ChunkRef, chunk: Chunk, job: Job): Promise<ChunkOutcome> {
    let model: WorkerModel;
    const extras: ScoreExtras = chunk.labelColumn === null ? {} : { labelColumn: chunk.labelColumn };
    try {
      model = await deps.models.get(chunk.modelVersionId);
      if (chunk.compareVersionId !== null) extras.compare = await deps.models.get(chunk.compareVersionId);
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      return failedChunk(ref, chunk, `the model could not be loaded: ${userText((err as Error).message)}`, 'model_load_failed');
    }
    const base = { rowCount: chunk.rowCount, header: chunk.columns, delimiter: chunk.delimiter, decimal: chunk.decimal, lines: chunk.lines ?? undefined };
    const part: Part =
      chunk.format === 'csv'
        ? { ...base, format: 'csv', payload: chunk.payload! }
        : { ...base, format: 'json', records: chunk.records ?? JSON.parse(chunk.payload!.toString('utf8')) };
    try {
      const r = await deps.infer(model, part, extras);
      const errors = r.errors.map((e) => ({ code: e.code, message: e.message, count: e.count, firstRows: e.first.map((i) => chunk.firstRow + i) }));
      return { ref, firstRow: chunk.firstRow, rowCount: chunk.rowCount, rows: r.rows, succeeded: r.succeeded, failed: r.failed, errors, ...(r.metrics ? { metrics: r.metrics } : {}) };
    } catch (err) {
      if (!(err instanceof InferenceError)) throw err;
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      chunkLog(ref, chunk).warn({ err: err.message, attempt: job.attemptsMade + 1, last }, 'inference failed on a chunk');
      if (err instanceof ModelMemoryError) {
        // A model the pool now refuses (pool.ts MemoryGuard) fails at once: another attempt would
        // only repeat the spike, or be refused. One merely running beside such a spike is retried.
        if (err.unhealthy || last) return failedChunk(ref, chunk, err.message, 'model_memory_exceeded');
        throw err;
      }
      if (!last) throw err;
      return failedChunk(ref, chunk, `inference failed: ${userText(err.message)}`, 'inference_failed');
    }
  }
}

/** A chunk to score: as loaded from Postgres, or a small job's records as the queue carried them. */
type Chunk = LoadedChunk & { records?: unknown[] };

/** A small job's one chunk from its copy in the queue: what loadChunks would give, its start not counted. */
function queuedChunk(c: InlineChunk): Chunk {
  return {
    status: 'pending', jobStatus: 'queued', format: 'json', payload: null, records: c.records, firstRow: 1, rowCount: c.records.length,
    columns: c.columns, delimiter: ',', decimal: '.', tenantId: c.tenantId, modelName: c.modelName, modelVersion: c.modelVersion,
    startedJob: false, lines: null, modelVersionId: c.modelVersionId, starts: 1, labelColumn: null, compareVersionId: null,
  };
}

function refsOf(job: Job): ChunkRef[] {
  const parsed = job.name === CHUNK_GROUP_JOB ? ChunkGroup.safeParse(job.data) : ChunkRef.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`malformed chunk reference: ${parsed.error.message}`);
  return 'chunks' in parsed.data ? parsed.data.chunks : [parsed.data];
}

/**
 * Every row of the chunk gets the error: the job still accounts for each row exactly once. Each
 * row keeps its input as uploaded, as a row that failed alone does, so ?only=errors and a retry
 * (POST /v1/jobs/{id}/retry) can send it again.
 */
function failedChunk(ref: ChunkRef, chunk: Chunk, message: string, code: string): ChunkOutcome {
  const records = recordsOf(chunk);
  const rows = Array.from({ length: chunk.rowCount }, (_, i) => ({ value: null, scores: null, passthrough: null, error: message, record: records?.[i] ?? null }));
  const firstRows = Array.from({ length: Math.min(5, chunk.rowCount) }, (_, i) => chunk.firstRow + i);
  return {
    ref, firstRow: chunk.firstRow, rowCount: chunk.rowCount, rows: encodeResultRows(rows), succeeded: 0, failed: chunk.rowCount,
    jobError: { code, message }, errors: [{ code, message, count: chunk.rowCount, firstRows }],
  };
}

/** The chunk's rows as uploaded: CSV records' bytes, or JSON records' text; null when they cannot be split. */
function recordsOf(chunk: Chunk): (Uint8Array | string)[] | null {
  if (chunk.records) return chunk.records.map((r) => JSON.stringify(r));
  if (!chunk.payload) return null;
  if (chunk.format === 'csv') return rawCsvRecords(chunk.payload, chunk.rowCount);
  try {
    const records: unknown = JSON.parse(chunk.payload.toString('utf8'));
    return Array.isArray(records) ? records.map((r) => JSON.stringify(r)) : null;
  } catch {
    return null;
  }
}
