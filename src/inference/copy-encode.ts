// Prediction rows in PostgreSQL COPY text format, for
//   COPY predictions (job_id, row_no, value, scores, passthrough, error) FROM STDIN
// Two layers of quoting apply to array columns: the array literal (elements double-quoted, `"` and
// `\` backslash-escaped inside), then COPY's own field escaping (backslash, tab, newline, CR) over
// the whole field. Every text element is quoted, so empty strings, whitespace, commas, braces and
// the word NULL never need special cases.
// Postgres text cannot hold U+0000: a NUL in a passthrough cell or error becomes U+FFFD (the only
// change any string undergoes; lone UTF-16 surrogates likewise become U+FFFD when encoded to UTF-8).

export const PREDICTION_COPY_COLUMNS = ['job_id', 'row_no', 'value', 'scores', 'passthrough', 'error'] as const;

export interface PredictionRow {
  rowNo: number;
  value: number | null;
  /** Stored as real[]: each score is rounded to float4. */
  scores: ArrayLike<number> | null;
  passthrough: readonly (string | null)[] | null;
  error: string | null;
}

const NULL = '\\N';

export function encodeCopyRows(jobId: string, rows: Iterable<PredictionRow>): Buffer {
  const job = copyEscape(jobId);
  const lines: string[] = [];
  for (const r of rows) {
    lines.push(
      `${job}\t${r.rowNo}\t${r.value === null ? NULL : float8Text(r.value)}\t${r.scores === null ? NULL : float4ArrayText(r.scores)}\t${
        r.passthrough === null ? NULL : copyEscape(textArrayLiteral(r.passthrough))
      }\t${r.error === null ? NULL : copyEscape(r.error)}\n`,
    );
  }
  return Buffer.from(lines.join(''), 'utf8');
}

/** COPY text escaping of one field's content. */
export function copyEscape(s: string): string {
  return s.replace(/[\\\t\n\r\0]/g, (c) => COPY_ESCAPES[c]!);
}
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\uFFFD' };

/** A text[] literal, every element quoted (before COPY escaping). */
export function textArrayLiteral(items: readonly (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < items.length; i++) {
    if (i) out += ',';
    const s = items[i];
    out += s === null ? 'NULL' : `"${s.replace(/["\\]/g, '\\$&')}"`;
  }
  return `${out}}`;
}

function float4ArrayText(xs: ArrayLike<number>): string {
  let out = '{';
  for (let i = 0; i < xs.length; i++) out += (i ? ',' : '') + float4Text(xs[i]);
  return `${out}}`;
}

/** Shortest text that Postgres reads back as the same double (JS number→string is shortest round-trip). */
export function float8Text(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0 && 1 / x < 0) return '-0';
  return String(x);
}

/** Shortest text that Postgres (strtof) reads back as the same float4 as Math.fround(x). */
export function float4Text(x: number): string {
  const f = Math.fround(x);
  if (!Number.isFinite(f) || f === 0) return float8Text(f);
  // Postgres rounds the text straight to float4; JS only parses it to a double. Comparing that double
  // with the exact midpoints to f's float4 neighbours, strictly, decides what strtof would do even
  // when the text lies next to a rounding boundary.
  f32[0] = f;
  const b = u32[0];
  u32[0] = b + 1;
  const away = (f + f32[0]) / 2;
  u32[0] = b - 1;
  const toward = (f + f32[0]) / 2;
  const lo = Math.min(away, toward);
  const hi = Math.max(away, toward);
  // More significant digits never move the text further from f, so fitting is monotonic in p. Most
  // float4 values need 7 to 9 digits: start at 7, search downwards only for the short ones. The
  // shortest text never ends in a zero digit (dropping it would fit too), so it needs no trimming.
  let s = f.toPrecision(7);
  if (!fitsIn(s, lo, hi)) {
    s = f.toPrecision(8);
    return fitsIn(s, lo, hi) ? s : f.toPrecision(9);
  }
  let good = 7;
  let bad = 0;
  for (let p = 6; good - bad > 1; p = (good + bad) >> 1) {
    const t = f.toPrecision(p);
    if (!fitsIn(t, lo, hi)) bad = p;
    else {
      s = t;
      good = p;
    }
  }
  return s;
}

function fitsIn(s: string, lo: number, hi: number): boolean {
  const d = +s;
  return lo < d && d < hi;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
