// Stage limits, each on one core in this process: what the worker's stages could do flat out.
//  - parse: a chunk's bytes → Float32Array (src/csv/numeric.ts + src/inference/preprocess.ts);
//  - infer: raw onnxruntime-node on the benchmark model at the worker's batch size, one thread;
//  - store: ORT output → predictions → the chunk's results as one value (src/results/resultRows.ts) → one
//    INSERT into `prediction_chunks` in a transaction, the way the worker stores them
//    (postprocess.ts + encodeResultRows on the thread, storeResults).
// Plus the storage layouts the issue asks about (one row per prediction with real[] or jsonb scores,
// one row per chunk), in the same run.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse as csvParse } from 'csv-parse/sync';
import * as ort from 'onnxruntime-node';
import type pg from 'pg';
import { withTransaction } from '../../src/db/pool.js';
import { from as copyFrom } from 'pg-copy-streams';
import { parseNumericSlice } from '../../src/csv/numeric.js';
import { parseChunk, parseChunkWhole } from '../../src/csv/parse.js';
import { postprocess, type RowPrediction } from '../../src/inference/postprocess.js';
import { columnIndex, createPreprocessor } from '../../src/inference/preprocess.js';
import { storeResults } from '../../src/db/storeResults.js';
import { encodeResultRows, type ResultRow } from '../../src/results/resultRows.js';
import type { RunPlan } from '../../src/models/types.js';
import { benchModel, COLUMNS, csvRows, medianOf, now } from './common.js';

const CHUNK = 5000; // CHUNK_ROWS default
const BATCH = 1024; // INFERENCE_BATCH_SIZE default

const plan = { input: 'input', inputShape: [-1, 20], inputType: 'float32', probabilities: 'probabilities', labels: ['low', 'mid', 'high'], softmax: false } as unknown as RunPlan;

/** Runs fn over and over for at least `ms`, returns rows/s. */
async function rate(rowsPerCall: number, ms: number, fn: () => unknown): Promise<number> {
  await fn(); // warm
  let calls = 0;
  const t0 = now();
  let t = t0;
  while (t - t0 < ms) {
    await fn();
    calls++;
    t = now();
  }
  return (calls * rowsPerCall) / ((t - t0) / 1000);
}

export interface StageFigures {
  parse: number;
  parseRuns: number[];
  /** The general road over the same chunk: cells as strings (parseChunk), then the preprocessor's cell rules. */
  parseGeneral: number;
  csvParseReference: number;
  csvParseCast: number;
  splitNumber: number;
  infer: number;
  inferRuns: number[];
  inferChunk: number;
  ortCallUs: number;
  store: number;
  storeRuns: number[];
  /** postprocess + encodeResultRows only (the inference thread's side of storing). */
  encode: number;
  /** The INSERT of an already-encoded chunk only (the worker's main thread and Postgres). */
  insertOnly: number;
  storage: { layout: string; rowsPerSecond: number; bytesPerRow: number }[];
  /** The api's side: storing a 5000-row chunk payload (bytea) per statement, as insertChunk does. */
  intake: { compressed: number; external: number; chunkBytes: number };
}

export async function measureStages(pool: pg.Pool, repeats: number, ms = 1500): Promise<StageFigures> {
  const { onnx, signature } = benchModel();
  const payload = Buffer.from(csvRows(CHUNK, 7));
  const opts = { delimiter: ',', fieldCount: 20, expectedRows: CHUNK };
  const pre = createPreprocessor(signature as never, plan);
  const map = columnIndex(COLUMNS, { columns: COLUMNS, passthrough: [] });

  // The worker's road for this data: the numeric fast path (src/csv/numeric.ts); the general one
  // (cells as strings, then the preprocessor's cell rules) is what it stands in for.
  const parseGeneralOnce = () => {
    const p = parseChunk(payload, opts);
    return pre.csv(p.rows, map, p.errors);
  };
  const parseOnce = () => {
    const fast = parseNumericSlice(payload, { ...opts, ...map });
    return fast ? pre.numbers(fast.values, CHUNK, fast.texts) : parseGeneralOnce();
  };
  if (!parseNumericSlice(payload, { ...opts, ...map })) throw new Error('the benchmark data should take the numeric fast path');
  const parse = await medianOf(repeats, () => rate(CHUNK, ms, parseOnce));
  const parseGeneral = await rate(CHUNK, ms, parseGeneralOnce);
  // References: csv-parse over the chunk (the dialect's reference), with cast, and a split-and-Number loop.
  const csvParseReference = await rate(CHUNK, ms, () => parseChunkWhole(payload, opts));
  const csvParseCast = await rate(CHUNK, ms, () => csvParse(payload, { cast: true }));
  const splitNumber = await rate(CHUNK, ms, () => {
    const out = new Float32Array(CHUNK * 20);
    let k = 0;
    for (const line of payload.toString('utf8').split('\n')) if (line) for (const c of line.split(',')) out[k++] = Number(c);
    return out;
  });

  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] });
  const x = parseOnce().data as Float32Array;
  const tensor = (n: number) => new ort.Tensor('float32', x.subarray(0, n * 20), [n, 20]);
  const infer = await medianOf(repeats, () => rate(BATCH, ms, () => session.run({ input: tensor(BATCH) })));
  const inferChunk = await rate(CHUNK, ms, () => session.run({ input: tensor(CHUNK) }));
  const oneRow = await rate(1, ms / 2, () => session.run({ input: tensor(1) }));
  const ortCallUs = 1e6 / oneRow;

  const outputs = await session.run({ input: tensor(CHUNK) });
  const jobId = '00000000-0000-4000-8000-000000000000';
  // The thread's side: every row's result of the chunk, encoded as one value (no row numbers).
  const encodeOnce = () => encodeResultRows(resultRows(postprocess(outputs as never, plan, 'classification', CHUNK)));
  const encode = await rate(CHUNK, ms, encodeOnce);

  // Each chunk gets its own first_row, so nothing collides on the primary key.
  let nextRow = 1;
  const storeOnce = async () => {
    const rows = encodeOnce();
    const firstRow = nextRow;
    nextRow += CHUNK;
    await insertChunkTx(pool, jobId, firstRow, rows);
  };
  const store = await medianOf(repeats, () => rate(CHUNK, ms, storeOnce));
  // The INSERT of bytes encoded once, beforehand: the Postgres side (and the round trip).
  const fixed = encodeOnce();
  const insertOnly = await rate(CHUNK, ms, async () => {
    const firstRow = nextRow;
    nextRow += CHUNK;
    await insertChunkTx(pool, jobId, firstRow, fixed);
  });
  await session.release();

  const storage = await storageOptions(pool, outputs as never, ms, store.median);
  await pool.query('DELETE FROM prediction_chunks WHERE job_id = $1', [jobId]);
  const intake = await intakeStore(pool, payload, ms);
  return {
    intake,
    parse: parse.median, parseRuns: parse.runs, parseGeneral, csvParseReference, csvParseCast, splitNumber,
    infer: infer.median, inferRuns: infer.runs, inferChunk, ortCallUs,
    store: store.median, storeRuns: store.runs, encode, insertOnly, storage,
  };
}

/** A chunk's predictions as the worker's thread stores them: no passthrough columns, no row errors here. */
function resultRows(preds: RowPrediction[]): ResultRow[] {
  return preds.map((p) => ({ value: p.value, scores: p.scores, passthrough: null, error: p.error ?? null }));
}

/** One chunk's encoded results stored in a transaction of its own, as finishChunk stores them. */
async function insertChunkTx(pool: pg.Pool, jobId: string, firstRow: number, rows: Buffer) {
  await withTransaction(pool, (client) => storeResults(client, [{ jobId, firstRow, rowCount: CHUNK, rows }]));
}

async function copyInTx(pool: pg.Pool, sql: string, data: Buffer) {
  await withTransaction(pool, async (client) => {
    await pipeline(Readable.from([data]), client.query(copyFrom(sql)));
  });
}

const sizeOf = async (pool: pg.Pool, table: string, rows: number) => {
  const r = await pool.query<{ b: number }>(`SELECT pg_total_relation_size($1::regclass)::float8 AS b`, [table]);
  return r.rows[0].b / rows;
};

/**
 * The layouts for a chunk's predictions, each written per 5000-row chunk in one transaction with
 * the key the results API reads by, and sized on disk (heap + index + TOAST): one row per
 * prediction with real[] scores (the layout before migration 0007, in a table of its own now that
 * `predictions` is gone) and with jsonb scores, both by COPY text; one row per chunk as the worker
 * writes it today (the store stage's rate, and the size of the rows it left in `prediction_chunks`); and one row
 * per chunk as arrays (COPY text). COPY text turns every score into digits and back, so those
 * rates are a little below what a binary COPY would do; their sizes are what the layouts cost.
 */
async function storageOptions(pool: pg.Pool, outputs: Record<string, ort.Tensor>, ms: number, storeRate: number) {
  await pool.query(`
    DROP TABLE IF EXISTS bench_pred_rows, bench_pred_jsonb, bench_pred_chunk;
    CREATE TABLE bench_pred_rows (job_id uuid NOT NULL, row_no bigint NOT NULL, value double precision, scores real[], passthrough text[], error text, PRIMARY KEY (job_id, row_no));
    CREATE TABLE bench_pred_jsonb (job_id uuid NOT NULL, row_no bigint NOT NULL, value double precision, scores jsonb, passthrough text[], error text, PRIMARY KEY (job_id, row_no));
    CREATE TABLE bench_pred_chunk (job_id uuid NOT NULL, first_row bigint NOT NULL, row_count int NOT NULL, value float8[] NOT NULL, scores real[] NOT NULL, passthrough text[], errors text[], PRIMARY KEY (job_id, first_row));`);
  const probs = outputs.probabilities.data as Float32Array;
  const preds = postprocess(outputs as never, plan, 'classification', CHUNK);
  const jobId = '00000000-0000-4000-8000-00000000000b';
  const results: { layout: string; rowsPerSecond: number; bytesPerRow: number }[] = [];
  let next = 1;
  let written = 0;
  const perRow = (scores: (p: RowPrediction) => string) => () => {
    let text = '';
    for (let i = 0; i < CHUNK; i++) text += `${jobId}\t${next + i}\t${preds[i].value}\t${scores(preds[i])}\t\\N\t\\N\n`;
    next += CHUNK;
    written += CHUNK;
    return Buffer.from(text);
  };

  // real[]: the layout the worker wrote before migration 0007 (then by binary COPY).
  const realText = perRow((p) => `{${Array.from(p.scores!).join(',')}}`);
  const realRate = await rate(CHUNK, ms, () => copyInTx(pool, 'COPY bench_pred_rows FROM STDIN', realText()));
  results.push({ layout: 'one row per prediction, scores real[] (before migration 0007; COPY text)', rowsPerSecond: realRate, bytesPerRow: await sizeOf(pool, 'bench_pred_rows', written) });

  next = 1;
  written = 0;
  const jsonbText = perRow((p) => `[${Array.from(p.scores!).join(',')}]`);
  const jsonbRate = await rate(CHUNK, ms, () => copyInTx(pool, 'COPY bench_pred_jsonb FROM STDIN', jsonbText()));
  results.push({ layout: 'one row per prediction, scores jsonb (COPY text)', rowsPerSecond: jsonbRate, bytesPerRow: await sizeOf(pool, 'bench_pred_jsonb', written) });

  // Today's is what the store stage measured and wrote: the same chunk, encoded and stored as the worker does.
  const encoded = await pool.query<{ n: number }>('SELECT sum(row_count)::float8 AS n FROM prediction_chunks');
  results.push({ layout: 'one row per chunk, rows bytea in the result-row encoding (today; `encodeResultRows` + one INSERT)', rowsPerSecond: storeRate, bytesPerRow: await sizeOf(pool, 'prediction_chunks', encoded.rows[0].n) });

  next = 1;
  written = 0;
  const chunkRate = await rate(CHUNK, ms, async () => {
    let values = '{';
    let scores = '{';
    for (let i = 0; i < CHUNK; i++) values += (i ? ',' : '') + preds[i].value;
    for (let k = 0; k < probs.length; k++) scores += (k ? ',' : '') + probs[k];
    const text = `${jobId}\t${next}\t${CHUNK}\t${values}}\t${scores}}\t\\N\t\\N\n`;
    next += CHUNK;
    written += CHUNK;
    await copyInTx(pool, 'COPY bench_pred_chunk FROM STDIN', Buffer.from(text));
  });
  results.push({ layout: 'one row per chunk, value float8[] + scores real[] (row i at offset; COPY text)', rowsPerSecond: chunkRate, bytesPerRow: await sizeOf(pool, 'bench_pred_chunk', written) });

  await pool.query('DROP TABLE bench_pred_rows, bench_pred_jsonb, bench_pred_chunk');
  return results;
}

/**
 * The api's storing of upload chunks: one INSERT of a 5000-row payload (about 750 kB of bytea) per
 * chunk, into a copy of job_chunks with the column's default storage (pglz-compressed in TOAST)
 * and into one with STORAGE EXTERNAL (out of line, uncompressed). Rows/s of CSV.
 */
async function intakeStore(pool: pg.Pool, payload: Buffer, ms: number) {
  await pool.query(`
    DROP TABLE IF EXISTS bench_chunks_default, bench_chunks_external;
    CREATE TABLE bench_chunks_default (LIKE job_chunks INCLUDING DEFAULTS INCLUDING INDEXES);
    CREATE TABLE bench_chunks_external (LIKE job_chunks INCLUDING DEFAULTS INCLUDING INDEXES);
    ALTER TABLE bench_chunks_external ALTER COLUMN payload SET STORAGE EXTERNAL;`);
  const jobId = '00000000-0000-4000-8000-0000000000cc';
  const into = (table: string) => {
    let seq = 0;
    return () => pool.query(`INSERT INTO ${table} (job_id, seq, first_row, row_count, format, payload) VALUES ($1, $2, $3, $4, 'csv', $5)`, [jobId, seq++, 1, CHUNK, payload]);
  };
  const compressed = await rate(CHUNK, ms, into('bench_chunks_default'));
  const external = await rate(CHUNK, ms, into('bench_chunks_external'));
  await pool.query('DROP TABLE bench_chunks_default, bench_chunks_external');
  return { compressed, external, chunkBytes: payload.length };
}
