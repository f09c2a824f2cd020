// Prediction tuples (copy-encode.ts) read back into the rows the results API shows, without a trip
// through Postgres: a worker hands a small job's tuples to the api in its wake-up message
// (src/jobs/finishedMessage.ts), and the api answers from them. Each value comes out as the
// database read gives it: row numbers as numbers, float8 as is, and each float4 score as the
// shortest decimal that reads back to the same float4 (what Postgres prints for a real and
// node-postgres parses), so the two roads give the same JSON.
import { copyStream, parseCopyRows } from '../db/copyFormat.js';
import type { PredictionRow } from '../jobs/results.js';

/** One tuple's fields as encoded (each score the float4 it was stored as). */
export interface CopyTuple {
  jobId: string;
  rowNo: number;
  value: number | null;
  scores: number[] | null;
  passthrough: (string | null)[] | null;
  error: string | null;
}

/** The tuples of one or more pieces, in order. */
export function readCopyTuples(tuples: Uint8Array): CopyTuple[] {
  return parseCopyRows(copyStream([tuples])).map(([jobId, rowNo, value, scores, passthrough, error]) => {
    if (!jobId || jobId.length !== 16 || !rowNo) throw new Error('not a prediction tuple');
    return {
      jobId: jobId.toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
      rowNo: Number(rowNo.readBigInt64BE(0)),
      value: value === null ? null : value.readDoubleBE(0),
      scores: scores === null ? null : arrayElements(scores).map((e) => e!.readFloatBE(0)),
      passthrough: passthrough === null ? null : arrayElements(passthrough).map((e) => (e === null ? null : e.toString('utf8'))),
      error: error === null ? null : error.toString('utf8'),
    };
  });
}

/** The rows of one or more pieces of tuples, in order, as the results API reads them from the table. */
export function decodeCopyRows(tuples: Uint8Array): PredictionRow[] {
  return readCopyTuples(tuples).map((t) => ({
    row_no: t.rowNo,
    value: t.value,
    scores: t.scores && t.scores.map(shortestFloat4),
    passthrough: t.passthrough as string[] | null,
    error: t.error,
  }));
}

/** A one-dimensional binary array's elements (ndim, has-null flag, element OID, then length and lower bound). */
function arrayElements(a: Buffer): (Buffer | null)[] {
  const ndim = a.readInt32BE(0);
  if (ndim === 0) return [];
  if (ndim !== 1) throw new Error(`expected a one-dimensional array, got ${ndim} dimensions`);
  const n = a.readInt32BE(12);
  const out: (Buffer | null)[] = new Array(n);
  let at = 20;
  for (let i = 0; i < n; i++) {
    const len = a.readInt32BE(at);
    at += 4;
    out[i] = len === -1 ? null : a.subarray(at, (at += len));
  }
  return out;
}

/**
 * The number with the fewest significant digits that reads back as the float4 `x`, the closest to x
 * of those, as Postgres prints a real (its Ryu shortest form): a decimal exactly halfway to a
 * neighbouring float4 does not count, and of two equally close the one ending in an even digit
 * wins. Worked on x's exact decimal expansion, so ties are seen as ties.
 */
export function shortestFloat4(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const { digits, exponent } = exactDecimal(Math.abs(x));
  const sign = x < 0 ? '-' : '';
  const [below, above] = neighbours(x);
  const inside = (y: number) => Math.fround(y) === x && y !== (x + below) / 2 && y !== (x + above) / 2;
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
      if (inside(y)) return y;
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
  const digits = all.replace(/0+$/, '');
  return { digits, exponent: all.length - 1 - scale };
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);
/** The float4 values on either side of the float4 x (finite, not zero), lower first. */
function neighbours(x: number): [number, number] {
  f32[0] = x;
  const b = i32[0];
  i32[0] = b - 1;
  const towardZero = f32[0];
  i32[0] = b + 1;
  const awayFromZero = f32[0];
  return x > 0 ? [towardZero, awayFromZero] : [awayFromZero, towardZero];
}
