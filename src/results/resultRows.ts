// A chunk's results as one value: the `rows` of a prediction_chunks row (migrations/0007), written
// by the inference thread, read back by the results API and carried in wake-up messages. One
// table row per chunk instead of one per data row: no per-row tuple header, index entry or row
// number (row i of the chunk is first_row + i), so Postgres stores and logs a few bytes per row.
//
// Each row: a flags byte, then what it flags, in order (big-endian):
//   value (1)        float64
//   scores (2)       uint32 count, then float32 each (stored as float4, as the results show them)
//   passthrough (4)  uint32 count, then per cell int32 UTF-8 byte length (-1 for null) and the bytes
//   error (8)        uint32 UTF-8 byte length and the bytes
//   record (16)      uint32 byte length and the bytes: a failed row's input as uploaded (its CSV
//                    record's bytes, or its JSON record), so it can be fixed and sent again
//                    (?only=errors). Rows stored before it have no such bit: they read as before.
//                    Successful rows never carry it; one above RECORD_MAX_BYTES is left out.
//   compare value (32)   float64: a compare job's second model's value (class index or number)
//   compare scores (64)  uint32 count, then float32 each: its probabilities or raw outputs
//                    (migrations/0014). Only compare jobs' rows carry them.
// Pieces of rows concatenate: a chunk's value is its slices' pieces one after another. Strings are
// kept exactly, NUL included (a text column could not hold one; results stored before migration
// 0007 had it replaced by U+FFFD). A chunk whose results are large is stored as several rows
// (splitResultRows), each far below Postgres's 1 GB per value.
import type { PredictionRow } from './predictionRow.js';
import { ByteWriter } from './byteWriter.js';
import { shortestFloat4 } from './shortestFloat4.js';

export interface ResultRow {
  value: number | null;
  scores: ArrayLike<number> | null;
  passthrough: readonly (string | null)[] | null;
  error: string | null;
  /** A failed row's input as uploaded (stored only with an error). */
  record?: Uint8Array | string | null;
  /** A compare job: the second model's prediction of the row (null where it could not score it). */
  compareValue?: number | null;
  compareScores?: ArrayLike<number> | null;
}

const VALUE = 1;
const SCORES = 2;
const PASSTHROUGH = 4;
const ERROR = 8;
const RECORD = 16;
const COMPARE_VALUE = 32;
const COMPARE_SCORES = 64;

/** The largest raw record kept with a failed row: intake's default MAX_RECORD_BYTES, so any CSV record it accepted by default fits. */
export const RECORD_MAX_BYTES = 1024 * 1024;

/** Which rows a read keeps: all, those that failed, or those that were scored. */
export type RowFilter = 'all' | 'errors' | 'scored';

/** The rows, in order, as one piece. */
export function encodeResultRows(rows: Iterable<ResultRow>): Buffer {
  const w = new ByteWriter();
  for (const r of rows) {
    const record = r.error !== null && r.record != null && byteLength(r.record) <= RECORD_MAX_BYTES ? r.record : null;
    const cv = r.compareValue ?? null;
    const cs = r.compareScores ?? null;
    w.uint8(
      (r.value === null ? 0 : VALUE) | (r.scores === null ? 0 : SCORES) | (r.passthrough === null ? 0 : PASSTHROUGH) | (r.error === null ? 0 : ERROR) | (record === null ? 0 : RECORD) |
        (cv === null ? 0 : COMPARE_VALUE) | (cs === null ? 0 : COMPARE_SCORES),
    );
    if (r.value !== null) w.float64(r.value);
    if (r.scores !== null) w.float32s(r.scores);
    if (r.passthrough !== null) {
      w.uint32(r.passthrough.length);
      for (const s of r.passthrough) w.text(s);
    }
    if (r.error !== null) w.text(r.error);
    if (record !== null) typeof record === 'string' ? w.text(record) : w.bytes(record);
    if (cv !== null) w.float64(cv);
    if (cs !== null) w.float32s(cs);
  }
  return w.done();
}

/** A prediction_chunks row as read. */
export interface StoredChunk {
  first_row: number;
  row_count: number;
  rows: Uint8Array | null;
  error: string | null;
}

function byteLength(record: Uint8Array | string): number {
  return typeof record === 'string' ? Buffer.byteLength(record) : record.byteLength;
}

export interface DecodeOptions {
  /** Rows after this row number only (the rows before are stepped over, not decoded). */
  after?: number;
  /** At most this many rows (of those `only` keeps). */
  limit?: number;
  /** Which rows to keep; the others are stepped over. Default all. */
  only?: RowFilter;
  /** Also read failed rows' raw records (`record`); without it they are stepped over. */
  records?: boolean;
}

/**
 * A stored chunk's rows as the results API shows them, numbered from its first row, each score the
 * shortest decimal that reads back as its float4: those after row `after` that `only` keeps, at
 * most `limit` of them. `error` instead of `rows`: every row has it (a chunk that was never scored).
 * A row gets `record` only when asked for and stored.
 */
export function decodeResultRows(chunk: StoredChunk, range: DecodeOptions = {}): PredictionRow[] {
  // Number(): a bigint column reads as a string where node-postgres is not told otherwise (db/pool.ts does).
  const [firstRow, count] = [Number(chunk.first_row), Number(chunk.row_count)];
  const only = range.only ?? 'all';
  const skip = Math.min(count, Math.max(0, (range.after ?? 0) - firstRow + 1));
  if (chunk.rows === null) {
    const end = only === 'scored' ? skip : Math.min(count, skip + (range.limit ?? count));
    return Array.from({ length: end - skip }, (_, i) => ({ row_no: firstRow + skip + i, value: null, scores: null, passthrough: null, error: chunk.error }));
  }
  const buf = Buffer.isBuffer(chunk.rows) ? chunk.rows : Buffer.from(chunk.rows.buffer, chunk.rows.byteOffset, chunk.rows.byteLength);
  let at = 0;
  for (let i = 0; i < skip; i++) at = stepOver(buf, at);
  if (only !== 'all' || range.records) return decodeSome(buf, at, firstRow, skip, count, only, range.limit ?? count, range.records === true);
  const end = Math.min(count, skip + (range.limit ?? count));
  const out: PredictionRow[] = new Array(end - skip);
  const text = () => {
    const n = buf.readInt32BE(at);
    at += 4;
    if (n === -1) return null;
    return buf.toString('utf8', at, (at += n));
  };
  for (let i = skip; i < end; i++) {
    const flags = buf[at++];
    let value: number | null = null;
    let scores: number[] | null = null;
    let passthrough: (string | null)[] | null = null;
    if (flags & VALUE) value = buf.readDoubleBE((at += 8) - 8);
    if (flags & SCORES) {
      const n = buf.readUInt32BE(at);
      at += 4;
      scores = new Array(n);
      for (let k = 0; k < n; k++, at += 4) scores[k] = shortestFloat4(buf.readFloatBE(at));
    }
    if (flags & PASSTHROUGH) {
      const n = buf.readUInt32BE(at);
      at += 4;
      passthrough = new Array(n);
      for (let k = 0; k < n; k++) passthrough[k] = text();
    }
    const error = flags & ERROR ? text() : null;
    if (flags & RECORD) at += 4 + buf.readUInt32BE(at);
    const row: PredictionRow = { row_no: firstRow + i, value, scores, passthrough: passthrough as string[] | null, error };
    if (flags & (COMPARE_VALUE | COMPARE_SCORES)) at = readCompare(buf, at, flags, row);
    out[i - skip] = row;
  }
  if (end === count && at !== buf.length) throw new Error(`stored results hold ${buf.length - at} bytes past row ${count}`);
  return out;
}

/** decodeResultRows's filtered road (?only=…, raw records): rows not kept are stepped over, not decoded. */
function decodeSome(buf: Buffer, at: number, firstRow: number, from: number, count: number, only: RowFilter, limit: number, records: boolean): PredictionRow[] {
  const out: PredictionRow[] = [];
  let i = from;
  for (; i < count && out.length < limit; i++) {
    const failed = (buf[at] & ERROR) !== 0;
    if ((only === 'errors' && !failed) || (only === 'scored' && failed)) at = stepOver(buf, at);
    else {
      const [row, end] = readRow(buf, at, firstRow + i, records);
      out.push(row);
      at = end;
    }
  }
  if (i === count && at !== buf.length) throw new Error(`stored results hold ${buf.length - at} bytes past row ${count}`);
  return out;
}

/** The row at `at`, and where it ends. */
function readRow(buf: Buffer, at: number, rowNo: number, records: boolean): [PredictionRow, number] {
  const text = () => {
    const n = buf.readInt32BE(at);
    at += 4;
    if (n === -1) return null;
    return buf.toString('utf8', at, (at += n));
  };
  const flags = buf[at++];
  const row: PredictionRow = { row_no: rowNo, value: null, scores: null, passthrough: null, error: null };
  if (flags & VALUE) row.value = buf.readDoubleBE((at += 8) - 8);
  if (flags & SCORES) {
    const n = buf.readUInt32BE(at);
    at += 4;
    row.scores = new Array(n);
    for (let k = 0; k < n; k++, at += 4) row.scores[k] = shortestFloat4(buf.readFloatBE(at));
  }
  if (flags & PASSTHROUGH) {
    const n = buf.readUInt32BE(at);
    at += 4;
    const cells: (string | null)[] = new Array(n);
    for (let k = 0; k < n; k++) cells[k] = text();
    row.passthrough = cells as string[];
  }
  if (flags & ERROR) row.error = text();
  if (flags & RECORD) {
    const n = buf.readUInt32BE(at);
    if (records) row.record = buf.subarray(at + 4, at + 4 + n);
    at += 4 + n;
  }
  if (flags & (COMPARE_VALUE | COMPARE_SCORES)) at = readCompare(buf, at, flags, row);
  return [row, at];
}

/** A compare job's second prediction of the row (both fields set, null where absent); where it ends. */
function readCompare(buf: Buffer, at: number, flags: number, row: PredictionRow): number {
  row.compare_value = null;
  row.compare_scores = null;
  if (flags & COMPARE_VALUE) row.compare_value = buf.readDoubleBE((at += 8) - 8);
  if (flags & COMPARE_SCORES) {
    const n = buf.readUInt32BE(at);
    at += 4;
    const scores: number[] = new Array(n);
    for (let k = 0; k < n; k++, at += 4) scores[k] = shortestFloat4(buf.readFloatBE(at));
    row.compare_scores = scores;
  }
  return at;
}

/**
 * A chunk's results as pieces of at most `maxBytes` each (a single larger row alone), cut between
 * rows: stored as several rows of prediction_chunks, they read back as the one chunk. Postgres
 * holds at most 1 GB in one value; this keeps far from it.
 */
export function splitResultRows(rows: Uint8Array, firstRow: number, rowCount: number, maxBytes: number): { firstRow: number; rowCount: number; rows: Uint8Array }[] {
  if (rows.byteLength <= maxBytes) return [{ firstRow, rowCount, rows }];
  const buf = Buffer.isBuffer(rows) ? rows : Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength);
  const pieces: { firstRow: number; rowCount: number; rows: Uint8Array }[] = [];
  let start = 0;
  let startRow = 0;
  let at = 0;
  for (let i = 0; i < rowCount; i++) {
    const end = stepOver(buf, at);
    if (end - start > maxBytes && at > start) {
      pieces.push({ firstRow: firstRow + startRow, rowCount: i - startRow, rows: buf.subarray(start, at) });
      start = at;
      startRow = i;
    }
    at = end;
  }
  pieces.push({ firstRow: firstRow + startRow, rowCount: rowCount - startRow, rows: buf.subarray(start, at) });
  return pieces;
}

/** Where the row at `at` ends. */
function stepOver(buf: Buffer, at: number): number {
  const flags = buf[at++];
  if (flags & VALUE) at += 8;
  if (flags & SCORES) at += 4 + 4 * buf.readUInt32BE(at);
  if (flags & PASSTHROUGH) {
    const n = buf.readUInt32BE(at);
    at += 4;
    for (let k = 0; k < n; k++) at += 4 + Math.max(0, buf.readInt32BE(at));
  }
  if (flags & ERROR) at += 4 + buf.readInt32BE(at);
  if (flags & RECORD) at += 4 + buf.readUInt32BE(at);
  if (flags & COMPARE_VALUE) at += 8;
  if (flags & COMPARE_SCORES) at += 4 + 4 * buf.readUInt32BE(at);
  return at;
}
