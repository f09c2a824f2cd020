import type { MissingPolicy, NumericDtype } from '../models/signature.js';
import { matchHeader } from '../csv/columnNames.js';

// Rows → the input tensor. Cell rules, the same for CSV cells and JSON values:
// - missing: an absent value, null, an empty or whitespace-only cell, or one of the signature's
//   `missing_values` (any case; by default what pandas, R, Excel and SQL exports write for "no
//   value": NaN, NA, N/A, #N/A, null, None, -);
// - numbers: plain decimal notation (sign, digits, point, exponent), or with a decimal comma for an
//   upload sent with decimal="," (then a point is not a number: it may be a thousands separator,
//   and guessing would misread 1.234 as one). Hex, "Infinity" and values that overflow a double
//   (or, once scaled, the input type) are row errors, not silently huge inputs;
// - integer inputs (int32/int64) take the transformed value only when it is a whole number in range.
// Imputation: `missing: "mean"` puts the column on its mean in the *normalised* space: the model
// sees 0 (mean is subtracted after scaling, so the raw value imputed is mean/scale). `{ fill }` is
// a raw cell value and goes through scale/mean/std like any cell. `missing: "nan"` (float inputs
// only, checked at registration) hands NaN to a model that imputes for itself.
// This is the one-numeric-input road (the `columns` form, and any plan with a single numeric
// input); src/inference/columnInputs.ts feeds several inputs of any type with the same cell rules.

export type InputArray = Float32Array | Float64Array | Int32Array | BigInt64Array;

export interface Preprocessed {
  /** Valid rows only, row-major, rowSize values each, in the plan's input type. */
  data: InputArray;
  /** Indices (into the rows given) of the rows in `data`, in order. */
  valid: number[];
  /** Per input row: null when the row is in `data`, else why it is not. */
  errors: (string | null)[];
}

export interface ColumnMap {
  /** Header index of each signature column. */
  features: number[];
  /** Header index of each passthrough column, -1 when the upload has no such column. */
  passthrough: number[];
  /** The upload's decimal mark. */
  decimal: '.' | ',';
}

export const DEFAULT_MISSING_VALUES = ['', 'nan', 'na', 'n/a', '#n/a', 'null', 'none', '-'];
const DECIMAL_POINT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DECIMAL_COMMA = /^[+-]?(?:\d+,?\d*|,\d+)(?:[eE][+-]?\d+)?$/;
export const MISSING = Symbol('missing');

/** The texts read as "no value" (lower case, trimmed), and the longest of them. */
export interface MissingTokens {
  tokens: Set<string>;
  max: number;
}

export function missingTokens(values: readonly string[] | undefined): MissingTokens {
  const tokens = new Set((values ?? DEFAULT_MISSING_VALUES).map((t) => t.trim().toLowerCase()));
  return { tokens, max: Math.max(0, ...[...tokens].map((t) => t.length)) };
}

/** Whether a trimmed cell is "no value". Only a short cell can be a token: numbers skip the lower-cased copy and the lookup. */
export function isMissingText(s: string, m: MissingTokens): boolean {
  return s === '' || (s.length <= m.max && m.tokens.has(s.toLowerCase()));
}

/** A CSV cell (or JSON string) read as a number, by the rules above. */
export function numberCell(raw: string | undefined, col: string, decimal: '.' | ',', m: MissingTokens): number | typeof MISSING | string {
  if (raw === undefined) return MISSING;
  const s = raw.trim();
  if (isMissingText(s, m)) return MISSING;
  const x = decimal === '.' ? (DECIMAL_POINT.test(s) ? Number(s) : NaN) : DECIMAL_COMMA.test(s) ? Number(s.replace(',', '.')) : NaN;
  return Number.isFinite(x) ? x : `column ${JSON.stringify(col)}: ${JSON.stringify(truncate(raw))} is not a number`;
}

/** A JSON record's value read as a number: a number, or a string by the CSV rules. */
export function jsonNumberCell(v: unknown, col: string, m: MissingTokens): number | typeof MISSING | string {
  if (v === undefined || v === null) return MISSING;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return MISSING;
    return Number.isFinite(v) ? v : `column ${JSON.stringify(col)}: ${v} is not a finite number`;
  }
  if (typeof v === 'string') return numberCell(v, col, '.', m);
  return `column ${JSON.stringify(col)}: ${truncate(JSON.stringify(v) ?? String(v))} is not a number`;
}

/** What a numeric block needs: its columns and policies (a signature of the `columns` form, or one plan input). */
export interface NumericBlock {
  columns?: readonly string[];
  scale?: number;
  mean?: readonly number[];
  std?: readonly number[];
  missing: MissingPolicy;
  missing_values?: readonly string[];
}

/**
 * Per column, what a missing cell becomes after normalisation: undefined is a row error, NaN goes
 * to the model as is ("nan"), a number is already normalised.
 */
export function imputedValues(block: NumericBlock, cols: readonly string[], normalise: (x: number, j: number) => number): (number | undefined)[] {
  const policy = block.missing;
  return cols.map((_, j) => {
    if (policy === 'error') return undefined;
    if (policy === 'mean') return 0;
    if (policy === 'nan') return NaN;
    if (typeof policy.fill === 'number') return normalise(policy.fill, j);
    throw new Error(`a text fill cannot feed numeric column ${JSON.stringify(cols[j])}`);
  });
}

export class ColumnMappingError extends Error {
  override name = 'ColumnMappingError';
}

/** Header positions of the columns the model reads. The API checked the header; a miss here is a bug or a stale plan. */
export function columnIndex(header: readonly string[], signature: { columns?: readonly string[]; passthrough?: readonly string[] }, decimal: '.' | ',' = '.'): ColumnMap {
  const features = matchHeader(header, signature.columns ?? []);
  if (features.missing.length) throw new ColumnMappingError(`header lacks signature column(s) ${features.missing.map((c) => JSON.stringify(c)).join(', ')}`);
  return { features: features.at, passthrough: matchHeader(header, signature.passthrough ?? []).at, decimal };
}

/** Values per row: the plan's input shape without the batch dim, which must hold exactly the signature's columns. */
export function rowShape(plan: { inputShape: readonly number[] }, columnCount: number): number[] {
  const dims = plan.inputShape.slice(1);
  const dynamic = dims.filter((d) => d <= 0).length;
  const known = dims.filter((d) => d > 0).reduce((a, b) => a * b, 1);
  if (dynamic === 1 && columnCount % known === 0) return dims.map((d) => (d > 0 ? d : columnCount / known));
  if (dynamic === 0 && known === columnCount) return dims;
  throw new Error(`input shape ${JSON.stringify(plan.inputShape)} cannot hold ${columnCount} values per row`);
}

export interface Preprocessor {
  readonly rowSize: number;
  /** CSV rows as parsed (a row with an error in rowErrors is not scored, cells or not); `map` from columnIndex(header). */
  csv(rows: readonly (readonly string[] | null)[], map: ColumnMap, rowErrors?: readonly (string | null)[]): Preprocessed;
  /** JSON records keyed by column name; a non-null rowErrors[i] rejects record i as is. */
  json(records: readonly unknown[], rowErrors?: readonly (string | null)[]): Preprocessed;
  /**
   * Cells already read as numbers (src/csv/numeric.ts): `count` rows of the signature's columns,
   * row-major; a cell in `texts` (by its index in `values`) goes through the CSV cell rules instead.
   */
  numbers(values: Float64Array, count: number, texts?: ReadonlyMap<number, string>): Preprocessed;
}

/** One per model version: uploads of that version differ only in header order, handled by the ColumnMap. */
export function createPreprocessor(signature: NumericBlock, plan: { inputShape?: readonly number[]; inputType?: NumericDtype }): Preprocessor {
  if (!signature.columns || !plan.inputShape || !plan.inputType) throw new Error('a numeric input needs its columns, shape and type');
  const cols: readonly string[] = signature.columns;
  const n = cols.length;
  const rowSize = rowShape({ inputShape: plan.inputShape }, n).reduce((a, b) => a * b, 1);
  const scale = signature.scale ?? 1;
  const mean = signature.mean ?? new Array<number>(n).fill(0);
  const std = signature.std ?? new Array<number>(n).fill(1);
  const normalise = (x: number, j: number) => (x * scale - mean[j]) / std[j];
  const imputed = imputedValues(signature, cols, normalise);
  const out = outputWriter(plan.inputType, cols);
  const tokens = missingTokens(signature.missing_values);
  const parseCell = (raw: string | undefined, col: string, decimal: '.' | ',') => numberCell(raw, col, decimal, tokens);
  const jsonCell = (v: unknown, col: string) => jsonNumberCell(v, col, tokens);

  function run(count: number, cell: (i: number, j: number) => number | typeof MISSING | string, skip: (i: number) => string | null): Preprocessed {
    const errors: (string | null)[] = new Array(count).fill(null);
    const valid: number[] = [];
    const data = out.alloc(count * rowSize);
    rows: for (let i = 0; i < count; i++) {
      const pre = skip(i);
      if (pre !== null) {
        errors[i] = pre;
        continue;
      }
      const base = valid.length * rowSize;
      for (let j = 0; j < n; j++) {
        const x = cell(i, j);
        let v: number;
        if (x === MISSING) {
          const fill = imputed[j];
          if (fill === undefined) {
            errors[i] = `column ${JSON.stringify(cols[j])} is missing`;
            continue rows;
          }
          if (Number.isNaN(fill)) {
            // "missing": "nan": the model imputes; the writer would take NaN for an overflow.
            (data as Float32Array | Float64Array)[base + j] = NaN;
            continue;
          }
          v = fill;
        } else if (typeof x === 'string') {
          errors[i] = x;
          continue rows;
        } else {
          v = normalise(x, j);
        }
        const bad = out.set(data, base + j, v, j);
        if (bad) {
          errors[i] = bad;
          continue rows;
        }
      }
      valid.push(i);
    }
    return { data: data.subarray(0, valid.length * rowSize) as InputArray, valid, errors };
  }

  return {
    rowSize,
    csv(rows, map, rowErrors) {
      return run(
        rows.length,
        (i, j) => parseCell(rows[i]![map.features[j]], cols[j], map.decimal),
        (i) => rowErrors?.[i] ?? (rows[i] === null ? 'row could not be parsed' : null),
      );
    },
    json(records, rowErrors) {
      return run(
        records.length,
        (i, j) => jsonCell(ownField(records[i], cols[j]), cols[j]),
        (i) => {
          const r = records[i];
          return rowErrors?.[i] ?? (r !== null && typeof r === 'object' && !Array.isArray(r) ? null : 'record is not an object');
        },
      );
    },
    numbers(values, count, texts) {
      const cell = texts?.size
        ? (i: number, j: number) => {
            const t = texts.get(i * n + j);
            return t === undefined ? values[i * n + j] : parseCell(t, cols[j], '.');
          }
        : (i: number, j: number) => values[i * n + j];
      return run(count, cell, () => null);
    },
  };
}

/**
 * A field of a JSON record, own properties only: a column named `__proto__`, `constructor` or
 * `toString` must read the record's own value (or nothing), never what it inherits from Object.
 */
export function ownField(record: unknown, key: string): unknown {
  return record !== null && typeof record === 'object' && Object.hasOwn(record, key) ? (record as Record<string, unknown>)[key] : undefined;
}

// Error texts end up in every result row; a 10 kB junk cell must not bloat them.
export function truncate(s: string, max = 60): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export interface OutputWriter {
  alloc(len: number): InputArray;
  /** Stores v at k; returns a row error when the input type cannot hold it. */
  set(a: InputArray, k: number, v: number, j: number): string | null;
}

export function outputWriter(type: NumericDtype, cols: readonly string[]): OutputWriter {
  switch (type) {
    case 'float32':
      return { alloc: (l) => new Float32Array(l), set: (a, k, v, j) => (Number.isFinite(((a as Float32Array)[k] = Math.fround(v))) ? null : outOfRange(cols[j], 'float32')) };
    case 'float64':
      return { alloc: (l) => new Float64Array(l), set: (a, k, v, j) => (Number.isFinite(((a as Float64Array)[k] = v)) ? null : outOfRange(cols[j], 'float64')) };
    case 'int32':
      return {
        alloc: (l) => new Int32Array(l),
        set: (a, k, v, j) => (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 ? (((a as Int32Array)[k] = v), null) : notInteger(cols[j], v, 'int32')),
      };
    case 'int64':
      return {
        alloc: (l) => new BigInt64Array(l),
        set: (a, k, v, j) => (Number.isSafeInteger(v) ? (((a as BigInt64Array)[k] = BigInt(v)), null) : notInteger(cols[j], v, 'int64')),
      };
  }
}

function outOfRange(col: string, type: string): string {
  return `column ${JSON.stringify(col)}: the value after scaling is out of range for ${type}`;
}

function notInteger(col: string, v: number, type: string): string {
  return `column ${JSON.stringify(col)}: ${v} is not a valid ${type}`;
}

/** Passthrough cell values in signature order; null where the upload lacks the column or the row could not be read. */
export function passthroughCsv(row: readonly string[] | null, map: ColumnMap): (string | null)[] | null {
  if (map.passthrough.length === 0) return null;
  return map.passthrough.map((k) => (row && k >= 0 ? (row[k] ?? null) : null));
}

export function passthroughJson(record: unknown, columns: readonly string[]): (string | null)[] | null {
  if (columns.length === 0) return null;
  return columns.map((c) => {
    const v = ownField(record, c);
    if (v === undefined || v === null) return null;
    return typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  });
}
