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
  // More significant digits never move the text further from f, so the shortest p is found by bisection.
  let lo = 1;
  let hi = 9;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (readsAsFloat4(f.toPrecision(mid), f)) hi = mid;
    else lo = mid + 1;
  }
  const s = f.toPrecision(lo);
  return readsAsFloat4(s, f) ? trimPrecision(s) : String(f);
}

// JS parses the text to a double, Postgres rounds the text straight to float; they can disagree only
// when the double sits next to a float4 rounding boundary, so demand that its neighbours round to f too.
function readsAsFloat4(s: string, f: number): boolean {
  const d = Number(s);
  return Math.fround(d) === f && Math.fround(nextDouble(d, 1)) === f && Math.fround(nextDouble(d, -1)) === f;
}

const bits = new Float64Array(1);
const word = new BigInt64Array(bits.buffer);
function nextDouble(d: number, dir: 1 | -1): number {
  bits[0] = d;
  word[0] += (d > 0) === (dir > 0) ? 1n : -1n;
  return bits[0];
}

/** toPrecision pads ("0.5000"); Postgres does not care, but short rows are smaller rows. */
function trimPrecision(s: string): string {
  const e = s.indexOf('e');
  const mant = e < 0 ? s : s.slice(0, e);
  const exp = e < 0 ? '' : s.slice(e);
  return (mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant) + exp;
}
