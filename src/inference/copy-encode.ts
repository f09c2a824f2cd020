// Prediction rows in PostgreSQL's binary COPY format, for
//   COPY predictions (job_id, row_no, value, scores, passthrough, error) FROM STDIN (FORMAT binary)
// Binary, not text: numbers go as their IEEE bytes, so neither side turns floats into digits and
// back (the thread's shortest-text search for each float4 and Postgres's float4in/array_in were
// most of the cost of storing a row), and no string needs escaping.
// A piece of rows (encodeCopyRows) carries tuples only: copyStream (src/db/copyFormat.ts) frames
// any number of pieces, the chunks of one commit, into the single stream one COPY reads.
// Postgres text cannot hold U+0000: a NUL in a passthrough cell or error becomes U+FFFD (the only
// change any string undergoes; lone UTF-16 surrogates likewise become U+FFFD when encoded to UTF-8).

import { isUuid } from '../db/copyFormat.js';

export const PREDICTION_COPY_COLUMNS = ['job_id', 'row_no', 'value', 'scores', 'passthrough', 'error'] as const;

/** The COPY that reads these tuples, into `table` (predictions, or a table like it). */
export const copyPredictionsSql = (table = 'predictions') => `COPY ${table} (${PREDICTION_COPY_COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`;

export interface PredictionRow {
  rowNo: number;
  value: number | null;
  /** Stored as real[]: each score is rounded to float4. */
  scores: ArrayLike<number> | null;
  passthrough: readonly (string | null)[] | null;
  error: string | null;
}

// Element type OIDs that array_recv checks against the column's: float4 and text.
const FLOAT4_OID = 700;
const TEXT_OID = 25;
/** The rows as binary COPY tuples (no header or trailer: see copyStream in src/db/copyFormat.ts). */
export function encodeCopyRows(jobId: string, rows: Iterable<PredictionRow>): Buffer {
  if (!isUuid(jobId)) throw new TypeError(`not a UUID: ${jobId}`);
  const uuid = Buffer.from(jobId.replaceAll('-', ''), 'hex');
  const w = new TupleWriter();
  for (const r of rows) {
    w.int16(PREDICTION_COPY_COLUMNS.length);
    w.int32(16);
    w.bytes(uuid);
    w.int32(8);
    // Row numbers are positive and below 2^53: the high and low halves of the int8.
    w.int32(Math.floor(r.rowNo / 2 ** 32));
    w.int32(r.rowNo >>> 0);
    if (r.value === null) w.int32(-1);
    else {
      w.int32(8);
      w.float64(r.value);
    }
    if (r.scores === null) w.int32(-1);
    else w.float4Array(r.scores);
    if (r.passthrough === null) w.int32(-1);
    else w.textArray(r.passthrough);
    if (r.error === null) w.int32(-1);
    else w.text(r.error);
  }
  return w.done();
}

/** An append-only big-endian buffer that grows as needed: every write makes room for itself. */
class TupleWriter {
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
  int16(v: number) {
    this.ensure(2);
    this.view.setInt16(this.at, v);
    this.at += 2;
  }
  int32(v: number) {
    this.ensure(4);
    this.view.setInt32(this.at, v);
    this.at += 4;
  }
  float64(v: number) {
    this.ensure(8);
    this.view.setFloat64(this.at, v);
    this.at += 8;
  }
  bytes(b: Uint8Array) {
    this.ensure(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  /** A length-prefixed UTF-8 string. */
  text(s: string) {
    const clean = s.includes('\0') ? s.replaceAll('\0', '\uFFFD') : s;
    this.ensure(4 + clean.length * 3);
    const n = this.buf.write(clean, this.at + 4, 'utf8');
    this.int32(n);
    this.at += n;
  }
  private arrayHeader(length: number, hasNull: boolean, elementOid: number, bytes: number) {
    // An empty array has no dimensions at all: ndim 0, then nothing.
    const head = length === 0 ? 12 : 20;
    this.ensure(4 + head + bytes);
    this.int32(head + bytes);
    this.int32(length === 0 ? 0 : 1);
    this.int32(hasNull ? 1 : 0);
    this.int32(elementOid);
    if (length === 0) return;
    this.int32(length);
    this.int32(1); // lower bound
  }
  float4Array(xs: ArrayLike<number>) {
    this.arrayHeader(xs.length, false, FLOAT4_OID, xs.length * 8);
    for (let i = 0; i < xs.length; i++) {
      this.int32(4);
      this.view.setFloat32(this.at, xs[i]);
      this.at += 4;
    }
  }
  textArray(items: readonly (string | null)[]) {
    let hasNull = false;
    let bound = 0;
    for (const s of items) {
      if (s === null) hasNull = true;
      bound += 4 + (s === null ? 0 : s.length * 3);
    }
    // The array's byte length is known only once its elements are written: write them, then it.
    this.arrayHeader(items.length, hasNull, TEXT_OID, bound);
    const lengthAt = this.at - (items.length === 0 ? 16 : 24);
    const start = this.at;
    for (const s of items) {
      if (s === null) this.int32(-1);
      else this.text(s);
    }
    this.view.setInt32(lengthAt, (items.length === 0 ? 12 : 20) + this.at - start);
  }
  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}
