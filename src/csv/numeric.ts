// The common upload, read straight from its bytes: ASCII text without quotes whose signature
// columns hold plain decimals (12.3456, -7, .5). The general road (parseChunk's cells, then the
// preprocessor's cell rules) builds a string per line and per cell and runs a regex and Number()
// over each: most of a worker's CPU for a numeric CSV. Here no string is made for a number.
//
// This path gives exactly what the general road gives, or nothing. A feature cell that is not a
// plain decimal of at most 15 digits (empty, padded, a missing-value token, an exponent, text) is
// handed over as its text, for the preprocessor's own cell rules, exactly the string the general
// road would have cut. Anything that could change where cells begin and end (a quote, a byte above
// 0x7F, a row with the wrong number of fields, more or fewer rows than stored) returns null, and
// the caller takes the general road for the whole slice. Within the case the two agree by
// construction: with at most 15 digits the digits form an integer below 2^53 and 10^k (k ≤ 15) is
// exact too, so one IEEE division gives the correctly rounded value, which is what Number()
// returns for the same text. test/csv/numeric.test.ts checks both claims.

const LF = 10;
const CR = 13;
const QUOTE = 34;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const MAX_DIGITS = 15;
const POW10 = Array.from({ length: MAX_DIGITS + 1 }, (_, k) => 10 ** k);

export interface NumericSliceOptions {
  delimiter: string;
  fieldCount: number;
  expectedRows: number;
  /** Header index of each signature column, in signature order (ColumnMap.features). */
  features: readonly number[];
  /** Header index of each passthrough column, -1 for one the upload lacks (ColumnMap.passthrough). */
  passthrough: readonly number[];
}

export interface NumericSlice {
  /** expectedRows × features.length values, row-major, in signature order; NaN where `texts` has the cell. */
  values: Float64Array;
  /** The feature cells that are not plain decimals, by their index in `values`, as written. */
  texts: Map<number, string>;
  /** Per row, the passthrough cells as written (null where the upload lacks the column); null when there are none. */
  passthrough: ((string | null)[] | null)[];
}

export function parseNumericSlice(bytes: Uint8Array, opts: NumericSliceOptions): NumericSlice | null {
  const d = opts.delimiter.length === 1 ? opts.delimiter.charCodeAt(0) : -1;
  // A digit delimiter would be read as part of a number (digits are tested first): general road.
  if (d <= 0 || d > 0x7f || d === QUOTE || d === LF || d === CR || (d >= ZERO && d <= NINE)) return null;
  const nf = opts.features.length;
  const fields = opts.fieldCount;
  // What each header position feeds: a feature slot (≥ 0) or nothing (-1); passthrough cells are
  // picked out by position afterwards.
  const slot = new Int32Array(fields).fill(-1);
  for (let k = 0; k < nf; k++) {
    const at = opts.features[k];
    if (at < 0 || at >= fields || slot[at] !== -1) return null;
    slot[at] = k;
  }
  const pt = opts.passthrough;
  const wantText = pt.some((k) => k >= 0 && k < fields);
  const values = new Float64Array(opts.expectedRows * nf);
  const passthrough: ((string | null)[] | null)[] = new Array(opts.expectedRows);
  const starts = wantText ? new Int32Array(fields + 1) : null;
  const texts = new Map<number, string>();
  const len = bytes.length;
  let row = 0;
  let pos = 0;
  // One pass over the bytes: a cell's digits are gathered as they go by, and the cell is settled
  // when its delimiter or line end comes. A line ends at LF (or the slice's end); CRs right before
  // that are line ending, not data, and a line of nothing else is blank: no row, as on the general
  // road. A last cell that had such CRs is read again without them (the rare CRLF file).
  while (pos < len) {
    const lineStart = pos;
    const base = row * nf;
    let col = 0;
    let cell = pos;
    let negative = false;
    let m = 0;
    let digits = 0;
    let fraction = -1;
    let plain = true;
    let p = pos;
    for (;; p++) {
      const c = p < len ? bytes[p] : LF;
      if (c >= ZERO && c <= NINE) {
        if (++digits > MAX_DIGITS) plain = false;
        else m = m * 10 + (c - ZERO);
        continue;
      }
      if (c === d || c === LF) {
        let to = p;
        if (c === LF) {
          while (to > lineStart && bytes[to - 1] === CR) to--;
          if (to === lineStart) break; // blank: no delimiter came, nothing was written
          if (to < p) plain = false; // read again below, without the CRs
        }
        if (row === opts.expectedRows || col >= fields) return null;
        if (starts) starts[col] = cell;
        const k = slot[col];
        if (k !== -1) {
          const v = plain && digits > 0 ? (fraction === -1 ? m : m / POW10[digits - fraction]) : to < p ? decimal(bytes, cell, to) : null;
          if (v !== null) values[base + k] = negative && plain ? -v : v;
          else {
            values[base + k] = NaN;
            texts.set(base + k, latin1(bytes, cell, to));
          }
        }
        col++;
        if (c === LF) {
          if (col !== fields) return null;
          if (starts) {
            starts[fields] = to + 1;
            passthrough[row] = pt.map((i) => (i >= 0 && i < fields ? latin1(bytes, starts[i], starts[i + 1] - 1) : null));
          } else passthrough[row] = pt.length ? pt.map(() => null) : null;
          row++;
          break;
        }
        cell = p + 1;
        negative = false;
        m = 0;
        digits = 0;
        fraction = -1;
        plain = true;
        continue;
      }
      if (c === DOT) {
        if (fraction === -1) fraction = digits;
        else plain = false;
      } else if ((c === PLUS || c === MINUS) && p === cell) negative = c === MINUS;
      else if (c > 0x7f || c === QUOTE || c === 0) return null;
      else plain = false;
    }
    pos = p + 1;
  }
  return row === opts.expectedRows ? { values, texts, passthrough } : null;
}

/** The value of bytes[from, to) when it is a plain decimal of at most 15 digits, else null. */
function decimal(b: Uint8Array, from: number, to: number): number | null {
  let p = from;
  let negative = false;
  if (p < to && (b[p] === PLUS || b[p] === MINUS)) negative = b[p++] === MINUS;
  let m = 0;
  let digits = 0;
  let fraction = -1;
  for (; p < to; p++) {
    const c = b[p];
    if (c >= ZERO && c <= NINE) {
      if (++digits > MAX_DIGITS) return null;
      m = m * 10 + (c - ZERO);
    } else if (c === DOT && fraction === -1) fraction = digits;
    else return null;
  }
  if (digits === 0) return null;
  const v = fraction === -1 ? m : m / POW10[digits - fraction];
  return negative ? -v : v;
}

/** ASCII bytes (checked by the caller's scan) as a string. */
function latin1(b: Uint8Array, from: number, to: number): string {
  return Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1');
}
