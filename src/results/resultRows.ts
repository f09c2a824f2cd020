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
// Pieces of rows concatenate: a chunk's value is its slices' pieces one after another. Strings are
// kept exactly, NUL included (a text column could not hold one; results stored before migration
// 0007 had it replaced by U+FFFD). A chunk whose results are large is stored as several rows
// (splitResultRows), each far below Postgres's 1 GB per value.
import type { PredictionRow } from '../jobs/results.js';

export interface ResultRow {
  value: number | null;
  scores: ArrayLike<number> | null;
  passthrough: readonly (string | null)[] | null;
  error: string | null;
}

const VALUE = 1;
const SCORES = 2;
const PASSTHROUGH = 4;
const ERROR = 8;

/** The rows, in order, as one piece. */
export function encodeResultRows(rows: Iterable<ResultRow>): Buffer {
  const w = new Writer();
  for (const r of rows) {
    w.uint8((r.value === null ? 0 : VALUE) | (r.scores === null ? 0 : SCORES) | (r.passthrough === null ? 0 : PASSTHROUGH) | (r.error === null ? 0 : ERROR));
    if (r.value !== null) w.float64(r.value);
    if (r.scores !== null) w.float32s(r.scores);
    if (r.passthrough !== null) {
      w.uint32(r.passthrough.length);
      for (const s of r.passthrough) w.text(s);
    }
    if (r.error !== null) w.text(r.error);
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

/**
 * A stored chunk's rows as the results API shows them, numbered from its first row, each score the
 * shortest decimal that reads back as its float4: those after row `after`, at most `limit` of them
 * (the rows before are stepped over, not decoded). `error` instead of `rows`: every row has it (a
 * chunk that was never scored).
 */
export function decodeResultRows(chunk: StoredChunk, range: { after?: number; limit?: number } = {}): PredictionRow[] {
  // Number(): a bigint column reads as a string where node-postgres is not told otherwise (db/pool.ts does).
  const [firstRow, count] = [Number(chunk.first_row), Number(chunk.row_count)];
  const skip = Math.min(count, Math.max(0, (range.after ?? 0) - firstRow + 1));
  const end = Math.min(count, skip + (range.limit ?? count));
  if (chunk.rows === null) return Array.from({ length: end - skip }, (_, i) => ({ row_no: firstRow + skip + i, value: null, scores: null, passthrough: null, error: chunk.error }));
  const buf = Buffer.isBuffer(chunk.rows) ? chunk.rows : Buffer.from(chunk.rows.buffer, chunk.rows.byteOffset, chunk.rows.byteLength);
  let at = 0;
  for (let i = 0; i < skip; i++) at = stepOver(buf, at);
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
    out[i - skip] = { row_no: firstRow + i, value, scores, passthrough: passthrough as string[] | null, error };
  }
  if (end === count && at !== buf.length) throw new Error(`stored results hold ${buf.length - at} bytes past row ${count}`);
  return out;
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
  return at;
}

/** An append-only big-endian buffer that grows as needed: every write makes room for itself. */
class Writer {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private at = 0;

  private ensure(n: number) {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
  uint8(v: number) {
    this.ensure(1);
    this.buf[this.at++] = v;
  }
  uint32(v: number) {
    this.ensure(4);
    this.view.setUint32(this.at, v);
    this.at += 4;
  }
  float64(v: number) {
    this.ensure(8);
    this.view.setFloat64(this.at, v);
    this.at += 8;
  }
  float32s(xs: ArrayLike<number>) {
    this.ensure(4 + 4 * xs.length);
    this.view.setUint32(this.at, xs.length);
    this.at += 4;
    for (let i = 0; i < xs.length; i++, this.at += 4) this.view.setFloat32(this.at, xs[i]);
  }
  /** A length-prefixed UTF-8 string, or -1 for null. */
  text(s: string | null) {
    if (s === null) {
      this.ensure(4);
      this.view.setInt32(this.at, -1);
      this.at += 4;
      return;
    }
    this.ensure(4 + s.length * 3);
    const n = this.buf.write(s, this.at + 4, 'utf8');
    this.view.setInt32(this.at, n);
    this.at += 4 + n;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/**
 * The number with the fewest significant digits that reads back as the float4 `x`, the closest to x
 * of those, as Postgres prints a real (its Ryu shortest form), so scores read as they did when each
 * row was a real[] in Postgres. The quick way, in doubles: x scaled by a power of ten to p digits
 * before the point, rounded, and scaled back (exact powers of ten, so the division rounds once,
 * as reading the decimal would); the fewest p that reads back is found by halving the range (for x
 * not a power of two its neighbours are evenly spaced, so once a precision reads back every finer
 * one does). Whatever that cannot settle takes the exact way: a power of two (unevenly spaced
 * neighbours), a scaled value within rounding error of a half (a tie, which Ryu rounds to even),
 * and magnitudes whose powers of ten are not exact doubles.
 */
export function shortestFloat4(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  f32[0] = x;
  const bits = i32[0];
  if ((bits & 0x7fffff) === 0) return exactShortestFloat4(x);
  const ax = Math.abs(x);
  let e = Math.floor(Math.log10(ax));
  if (e < -13 || e > 13) return exactShortestFloat4(x);
  // log10 may land one off next to a power of ten: settle e so that 10^e <= ax < 10^(e+1).
  if (ax < (e >= 0 ? POW10_EXACT[e] : 1 / POW10_EXACT[-e])) e--;
  else if (ax >= (e + 1 >= 0 ? POW10_EXACT[e + 1] : 1 / POW10_EXACT[-e - 1])) e++;
  const [low, high] = halfways(x);
  let lo = 1;
  let hi = 9;
  let near = false;
  while (lo < hi) {
    const p = (lo + hi) >> 1;
    const c = roundedTo(ax, p - 1 - e);
    if (c !== c) near = true;
    const v = x < 0 ? -c : c;
    if (readsBack(v, x, low, high)) hi = p;
    else lo = p + 1;
  }
  const y = roundedTo(ax, lo - 1 - e);
  if (y !== y || near) return exactShortestFloat4(x);
  return x < 0 ? -y : y;
}

/** ax rounded to the power-of-ten scale k (ax * 10^k rounded to an integer, scaled back); NaN within rounding error of a tie. */
function roundedTo(ax: number, k: number): number {
  const scaled = k >= 0 ? ax * POW10_EXACT[k] : ax / POW10_EXACT[-k];
  const fraction = scaled - Math.floor(scaled);
  if (fraction > 0.5 - 1e-6 && fraction < 0.5 + 1e-6) return NaN;
  const c = Math.round(scaled);
  return k >= 0 ? c / POW10_EXACT[k] : c * POW10_EXACT[-k];
}

// 10^0 .. 10^22: the powers of ten a double holds exactly.
const POW10_EXACT = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/** Whether y reads back as the float4 x without being exactly halfway to a neighbour of it (halfways(x)). */
function readsBack(y: number, x: number, low: number, high: number): boolean {
  return Math.fround(y) === x && y !== low && y !== high;
}

/**
 * shortestFloat4 worked on x's exact decimal expansion: a decimal exactly halfway to a neighbouring
 * float4 does not count, and of two equally close the one ending in an even digit wins.
 */
export function exactShortestFloat4(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const { digits, exponent } = exactDecimal(Math.abs(x));
  const sign = x < 0 ? '-' : '';
  const [low, high] = halfways(x);
  for (let p = 1; p <= digits.length; p++) {
    const lower = BigInt(digits.slice(0, p));
    const rest = digits.slice(p);
    // Which p-digit neighbour of x is closer: the rest of the digits against one half.
    const half = rest === '' ? -1 : rest[0] > '5' || (rest[0] === '5' && /[1-9]/.test(rest.slice(1))) ? 1 : rest[0] === '5' ? 0 : -1;
    const upFirst = half > 0 || (half === 0 && lower % 2n === 1n);
    const candidates = rest === '' ? [lower] : upFirst ? [lower + 1n, lower] : [lower, lower + 1n];
    for (const c of candidates) {
      // c has p digits (or p + 1 when rounding up carried: 99 → 100, the same value scaled).
      const y = Number(`${sign}${c}e${exponent - p + 1}`);
      if (readsBack(y, x, low, high)) return y;
    }
  }
  return x;
}

/** The exact decimal value of a positive finite double: its significant digits and the power of ten of the first. */
function exactDecimal(x: number): { digits: string; exponent: number } {
  f64[0] = x;
  const raw = u64[0];
  const biased = Number(raw >> 52n);
  const fraction = raw & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const e = (biased === 0 ? 1 : biased) - 1075;
  // x = mantissa * 2^e = mantissa * 5^-e / 10^-e when e < 0.
  const [n, scale] = e >= 0 ? [mantissa << BigInt(e), 0] : [mantissa * 5n ** BigInt(-e), -e];
  const all = n.toString();
  return { digits: all.replace(/0+$/, ''), exponent: all.length - 1 - scale };
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);
/** The points halfway from the float4 x (finite, not zero) to the float4s on either side of it. */
function halfways(x: number): [number, number] {
  f32[0] = x;
  const b = i32[0];
  i32[0] = b - 1;
  const one = (x + f32[0]) / 2;
  i32[0] = b + 1;
  return [one, (x + f32[0]) / 2];
}
