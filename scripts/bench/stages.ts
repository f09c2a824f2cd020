// Stage limits, each on one core in this process: what the worker's stages could do flat out.
//  - parse: a chunk's bytes → Float32Array (src/csv/numeric.ts + src/inference/preprocess.ts);
//  - infer: raw onnxruntime-node on the benchmark model at the worker's batch size, one thread;
//  - store: ORT output → predictions → binary COPY → COPY into `predictions` in a transaction, the
//    way the worker stores them (postprocess.ts + copy-encode.ts + finishChunk's COPY).
// Plus the storage options the issue asks about (real[] / jsonb / one row per chunk), in the same run.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse as csvParse } from 'csv-parse/sync';
import * as ort from 'onnxruntime-node';
import type pg from 'pg';
import { withTransaction } from '../../src/db/pool.js';
import { from as copyFrom } from 'pg-copy-streams';
import { parseNumericSlice } from '../../src/csv/numeric.js';
import { parseChunk, parseChunkWhole } from '../../src/csv/parse.js';
import { copyStream } from '../../src/db/copyFormat.js';
import { copyPredictionsSql, encodeCopyRows, type PredictionRow } from '../../src/inference/copy-encode.js';
import { postprocess } from '../../src/inference/postprocess.js';
import { columnIndex, createPreprocessor } from '../../src/inference/preprocess.js';
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
  encode: number;
  copyOnly: number;
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
  const encodeOnce = (firstRow: number) => {
    const preds = postprocess(outputs as never, plan, 'classification', CHUNK);
    const rows: PredictionRow[] = preds.map((p, i) => ({ rowNo: firstRow + i, value: p.value, scores: p.scores, passthrough: null, error: null }));
    return copyStream([encodeCopyRows(jobId, rows)]);
  };
  const encode = await rate(CHUNK, ms, () => encodeOnce(1));

  let nextRow = 1;
  const storeOnce = async () => {
    const copy = encodeOnce(nextRow);
    nextRow += CHUNK;
    await copyInTx(pool, copyPredictionsSql(), copy);
  };
  const store = await medianOf(repeats, () => rate(CHUNK, ms, storeOnce));
  const fixed = encodeOnce(1);
  // The same bytes again would collide on the primary key: a table without one isolates COPY's own cost.
  await pool.query('CREATE TABLE IF NOT EXISTS bench_copy_only (LIKE predictions)');
  const copyOnly = await rate(CHUNK, ms, () => copyInTx(pool, copyPredictionsSql('bench_copy_only'), fixed));
  await pool.query('TRUNCATE bench_copy_only');
  await session.release();

  const storage = await storageOptions(pool, outputs as never, ms);
  const intake = await intakeStore(pool, payload, ms);
  return {
    intake,
    parse: parse.median, parseRuns: parse.runs, parseGeneral, csvParseReference, csvParseCast, splitNumber,
    infer: infer.median, inferRuns: infer.runs, inferChunk, ortCallUs,
    store: store.median, storeRuns: store.runs, encode, copyOnly, storage,
  };
}

async function copyInTx(pool: pg.Pool, sql: string, data: Uint8Array) {
  await withTransaction(pool, async (client) => {
    await pipeline(Readable.from([Buffer.from(data.buffer, data.byteOffset, data.byteLength)]), client.query(copyFrom(sql)));
  });
}

/**
 * The three layouts for a chunk's predictions, each written in one COPY per 5000-row chunk with the
 * key the results API reads by, and sized on disk: today's as the worker writes it (binary), the
 * other two as COPY text (their rows/s are not comparable with today's, their sizes are).
 */
async function storageOptions(pool: pg.Pool, outputs: Record<string, ort.Tensor>, ms: number) {
  await pool.query(`
    DROP TABLE IF EXISTS bench_pred_jsonb, bench_pred_chunk;
    CREATE TABLE bench_pred_jsonb (job_id uuid NOT NULL, row_no bigint NOT NULL, value double precision, scores jsonb, passthrough text[], error text, PRIMARY KEY (job_id, row_no));
    CREATE TABLE bench_pred_chunk (job_id uuid NOT NULL, first_row bigint NOT NULL, row_count int NOT NULL, value float8[] NOT NULL, scores real[] NOT NULL, passthrough text[], errors text[], PRIMARY KEY (job_id, first_row));`);
  const probs = outputs.probabilities.data as Float32Array;
  const preds = postprocess(outputs as never, plan, 'classification', CHUNK);
  const jobId = '00000000-0000-4000-8000-00000000000b';
  let next = 1;
  const results: { layout: string; rowsPerSecond: number; bytesPerRow: number }[] = [];

  // real[]: what the worker writes today.
  const realJob = '00000000-0000-4000-8000-00000000000a';
  let realRows = 0;
  const realRate = await rate(CHUNK, ms, async () => {
    const rows = preds.map((p, i) => ({ rowNo: next + i, value: p.value, scores: p.scores, passthrough: null, error: null }));
    next += CHUNK;
    realRows += CHUNK;
    await copyInTx(pool, copyPredictionsSql(), copyStream([encodeCopyRows(realJob, rows)]));
  });
  const realSize = await pool.query(`SELECT pg_total_relation_size('predictions')::float8 AS b, (SELECT count(*) FROM predictions)::float8 AS n`);
  results.push({ layout: 'one row per prediction, scores real[] (today; binary COPY)', rowsPerSecond: realRate, bytesPerRow: realSize.rows[0].b / realSize.rows[0].n });

  next = 1;
  const jsonbRate = await rate(CHUNK, ms, async () => {
    let text = '';
    for (let i = 0; i < CHUNK; i++) {
      const p = preds[i];
      text += `${jobId}\t${next + i}\t${p.value}\t[${Array.from(p.scores!, (s) => Math.fround(s)).join(',')}]\t\\N\t\\N\n`;
    }
    next += CHUNK;
    await copyInTx(pool, 'COPY bench_pred_jsonb FROM STDIN', Buffer.from(text));
  });
  const jsonbSize = await pool.query(`SELECT pg_total_relation_size('bench_pred_jsonb')::float8 AS b, (SELECT count(*) FROM bench_pred_jsonb)::float8 AS n`);
  results.push({ layout: 'one row per prediction, scores jsonb (COPY text)', rowsPerSecond: jsonbRate, bytesPerRow: jsonbSize.rows[0].b / jsonbSize.rows[0].n });

  next = 1;
  let chunkRows = 0;
  const chunkRate = await rate(CHUNK, ms, async () => {
    let values = '{';
    let scores = '{';
    for (let i = 0; i < CHUNK; i++) {
      values += (i ? ',' : '') + preds[i].value;
    }
    for (let k = 0; k < probs.length; k++) scores += (k ? ',' : '') + probs[k];
    const text = `${jobId}\t${next}\t${CHUNK}\t${values}}\t${scores}}\t\\N\t\\N\n`;
    next += CHUNK;
    chunkRows += CHUNK;
    await copyInTx(pool, 'COPY bench_pred_chunk FROM STDIN', Buffer.from(text));
  });
  const chunkSize = await pool.query(`SELECT pg_total_relation_size('bench_pred_chunk')::float8 AS b`);
  results.push({ layout: 'one row per chunk, value float8[] + scores real[] (row i at offset; COPY text)', rowsPerSecond: chunkRate, bytesPerRow: chunkSize.rows[0].b / chunkRows });
  void realRows;
  await pool.query(`DELETE FROM predictions WHERE job_id IN ($1, $2)`, [realJob, '00000000-0000-4000-8000-000000000000']);
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
