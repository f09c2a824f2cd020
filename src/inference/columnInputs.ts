// Rows → one tensor per graph input, each of its own type: the per-column graphs skl2onnx makes of
// a ColumnTransformer pipeline (one [N, 1] input per column: strings for categories and text,
// int64 codes, floats the graph imputes itself), and any `inputs` signature. A model with a single
// numeric input never comes here: preprocess.ts keeps that road (and its speed) to itself.
//
// Cell rules per input type (a JSON record's field reads like a CSV cell):
// - numeric (float32/float64/int32/int64): exactly preprocess.ts's rules, scale/mean/std included;
//   an integer input takes whole numbers only ("3" and "3.0" are 3, "3.5" is a row error);
// - string: the cell's text as is (after CSV unquoting: quotes, commas, newlines and any Unicode
//   reach the model unchanged); a JSON number is its decimal text. Missing: an absent field, null,
//   or an empty or whitespace-only cell. Missing-value tokens ("NA", "None", …) are text here: in a
//   text or category column they may well be values;
// - bool: true/false/1/0, any case; missing as for numbers.
// Missing values follow the input's policy (settled at registration): a row error, NaN for a float
// input whose graph imputes, the mean, or a fill value (a number, or a text for string inputs).
import type { MissingPolicy } from '../models/signature.js';
import type { PlanInput } from '../models/types.js';
import { uniqueColumns } from '../models/inputs.js';
import {
  MISSING, imputedValues, isMissingText, jsonNumberCell, missingTokens, numberCell, outputWriter, ownField, rowShape, truncate,
  type ColumnMap, type InputArray, type MissingTokens,
} from './preprocess.js';

/** A tensor's data: numbers in the input's typed array, bools as 0/1 bytes, strings as they are. */
export type InputData = InputArray | Uint8Array | string[];

export interface PreparedInputs {
  /** Per plan input, its valid rows' values, row-major. */
  data: InputData[];
  /** Indices (into the rows given) of the rows in `data`, in order. */
  valid: number[];
  /** Per input row: null when the row is in `data`, else why it is not. */
  errors: (string | null)[];
}

export interface InputsPreprocessor {
  /** The columns the inputs read, each once: ColumnMap.features follows this order. */
  readonly columns: readonly string[];
  /** Values per row of each input. */
  readonly rowSizes: readonly number[];
  /** Per input, its row shape (without the batch dim). */
  readonly shapes: readonly number[][];
  csv(rows: readonly (readonly string[] | null)[], map: ColumnMap, rowErrors?: readonly (string | null)[]): PreparedInputs;
  json(records: readonly unknown[], rowErrors?: readonly (string | null)[]): PreparedInputs;
  /**
   * Cells read by src/csv/numeric.ts (row-major over `columns`; a cell in `texts` is read by the
   * CSV rules instead). Only when every input is numeric: a string column's "3.0" must stay "3.0".
   */
  numbers?(values: Float64Array, count: number, texts?: ReadonlyMap<number, string>): PreparedInputs;
}

/** A raw cell: a CSV cell (undefined when the row lacks it) or a JSON field's value. */
type Raw = unknown;

interface Feeder {
  rowSize: number;
  alloc(count: number): InputData;
  /** Writes row i's values (its cells `read(i, at[j])`) at `slot`; returns a row error, or null. */
  write(data: InputData, slot: number, read: (i: number, c: number) => Raw, i: number, at: readonly number[], json: boolean, decimal: '.' | ','): string | null;
  trim(data: InputData, rows: number): InputData;
}

const NUMERIC = new Set(['float32', 'float64', 'int32', 'int64']);

export function createInputsPreprocessor(inputs: readonly PlanInput[], opts: { missing_values?: readonly string[] } = {}): InputsPreprocessor {
  const columns = uniqueColumns(inputs);
  const position = new Map(columns.map((c, k) => [c, k]));
  const tokens = missingTokens(opts.missing_values);
  const shapes = inputs.map((inp) => rowShape({ inputShape: [-1, ...inp.shape] }, inp.columns.length));
  const feeders = inputs.map((inp) => feederFor(inp, tokens));
  const at = inputs.map((inp) => inp.columns.map((c) => position.get(c)!));

  // Where cells come from (CSV text with a decimal mark, or JSON values) is the same for a whole call.
  function runWith(count: number, cell: (i: number, c: number) => Raw, json: boolean, decimal: '.' | ',', skip: (i: number) => string | null): PreparedInputs {
    const errors: (string | null)[] = new Array(count).fill(null);
    const valid: number[] = [];
    const data = feeders.map((f) => f.alloc(count));
    rows: for (let i = 0; i < count; i++) {
      const pre = skip(i);
      if (pre !== null) {
        errors[i] = pre;
        continue;
      }
      for (let k = 0; k < feeders.length; k++) {
        const bad = feeders[k].write(data[k], valid.length, cell, i, at[k], json, decimal);
        if (bad) {
          errors[i] = bad;
          continue rows;
        }
      }
      valid.push(i);
    }
    return { data: data.map((d, k) => feeders[k].trim(d, valid.length)), valid, errors };
  }

  const allNumeric = inputs.every((inp) => NUMERIC.has(inp.type));
  const nc = columns.length;
  return {
    columns,
    rowSizes: feeders.map((f) => f.rowSize),
    shapes,
    csv(rows, map, rowErrors) {
      return runWith(rows.length, (i, c) => rows[i]![map.features[c]], false, map.decimal, (i) => rowErrors?.[i] ?? (rows[i] === null ? 'row could not be parsed' : null));
    },
    json(records, rowErrors) {
      return runWith(records.length, (i, c) => ownField(records[i], columns[c]), true, '.', (i) => {
        const r = records[i];
        return rowErrors?.[i] ?? (r !== null && typeof r === 'object' && !Array.isArray(r) ? null : 'record is not an object');
      });
    },
    ...(allNumeric
      ? {
          numbers(values: Float64Array, count: number, texts?: ReadonlyMap<number, string>) {
            // A plain decimal arrives as a number, anything else as its text: both read as JSON values do.
            const cell = texts?.size ? (i: number, c: number) => texts.get(i * nc + c) ?? values[i * nc + c] : (i: number, c: number) => values[i * nc + c];
            return runWith(count, cell, true, '.', () => null);
          },
        }
      : {}),
  };
}

function feederFor(inp: PlanInput, tokens: MissingTokens): Feeder {
  const cols = inp.columns;
  const n = cols.length;
  const rowSize = rowShape({ inputShape: [-1, ...inp.shape] }, n).reduce((a, b) => a * b, 1);
  if (inp.type === 'string') return stringFeeder(cols, rowSize, inp.missing);
  if (inp.type === 'bool') return boolFeeder(cols, rowSize, inp.missing, tokens);
  const scale = inp.scale ?? 1;
  const mean = inp.mean ?? new Array<number>(n).fill(0);
  const std = inp.std ?? new Array<number>(n).fill(1);
  const normalise = (x: number, j: number) => (x * scale - mean[j]) / std[j];
  const imputed = imputedValues(inp, cols, normalise);
  const out = outputWriter(inp.type, cols);
  return {
    rowSize,
    alloc: (count) => out.alloc(count * rowSize),
    trim: (d, rows) => (d as InputArray).subarray(0, rows * rowSize) as InputArray,
    write(data, slot, read, i, at, json, decimal) {
      const a = data as InputArray;
      const base = slot * rowSize;
      for (let j = 0; j < n; j++) {
        const raw = read(i, at[j]);
        const x = json ? jsonNumberCell(raw, cols[j], tokens) : numberCell(raw as string | undefined, cols[j], decimal, tokens);
        let v: number;
        if (x === MISSING) {
          const fill = imputed[j];
          if (fill === undefined) return `column ${JSON.stringify(cols[j])} is missing`;
          if (Number.isNaN(fill)) {
            (a as Float32Array | Float64Array)[base + j] = NaN;
            continue;
          }
          v = fill;
        } else if (typeof x === 'string') return x;
        else v = normalise(x, j);
        const bad = out.set(a, base + j, v, j);
        if (bad) return bad;
      }
      return null;
    },
  };
}

function stringFeeder(cols: readonly string[], rowSize: number, policy: MissingPolicy): Feeder {
  const fill = typeof policy === 'object' && typeof policy.fill === 'string' ? policy.fill : undefined;
  return {
    rowSize,
    alloc: (count) => new Array<string>(count * rowSize),
    trim: (d, rows) => {
      const a = d as string[];
      a.length = rows * rowSize;
      return a;
    },
    write(data, slot, read, i, at) {
      const a = data as string[];
      const base = slot * rowSize;
      for (let j = 0; j < cols.length; j++) {
        const raw = read(i, at[j]);
        let s: string | undefined;
        if (typeof raw === 'string') s = raw.trim() === '' ? undefined : raw;
        else if (typeof raw === 'number') s = Number.isNaN(raw) ? undefined : String(raw);
        else if (raw !== undefined && raw !== null) return `column ${JSON.stringify(cols[j])}: ${truncate(JSON.stringify(raw) ?? String(raw))} is not a text`;
        if (s === undefined) {
          if (fill === undefined) return `column ${JSON.stringify(cols[j])} is missing`;
          s = fill;
        }
        a[base + j] = s;
      }
      return null;
    },
  };
}

const TRUE = new Set(['true', '1']);
const FALSE = new Set(['false', '0']);

function boolFeeder(cols: readonly string[], rowSize: number, policy: MissingPolicy, tokens: MissingTokens): Feeder {
  const fill = typeof policy === 'object' && typeof policy.fill === 'number' ? (policy.fill !== 0 ? 1 : 0) : undefined;
  return {
    rowSize,
    alloc: (count) => new Uint8Array(count * rowSize),
    trim: (d, rows) => (d as Uint8Array).subarray(0, rows * rowSize),
    write(data, slot, read, i, at) {
      const a = data as Uint8Array;
      const base = slot * rowSize;
      for (let j = 0; j < cols.length; j++) {
        const raw = read(i, at[j]);
        let v: number | undefined;
        if (typeof raw === 'boolean') v = raw ? 1 : 0;
        else if (typeof raw === 'number') {
          if (raw === 1 || raw === 0) v = raw;
          else if (!Number.isNaN(raw)) return `column ${JSON.stringify(cols[j])}: ${raw} is not a bool (true, false, 1 or 0)`;
        } else if (typeof raw === 'string') {
          const s = raw.trim();
          if (!isMissingText(s, tokens)) {
            const k = s.toLowerCase();
            if (TRUE.has(k)) v = 1;
            else if (FALSE.has(k)) v = 0;
            else return `column ${JSON.stringify(cols[j])}: ${JSON.stringify(truncate(raw))} is not a bool (true, false, 1 or 0)`;
          }
        } else if (raw !== undefined && raw !== null) return `column ${JSON.stringify(cols[j])}: ${truncate(JSON.stringify(raw) ?? String(raw))} is not a bool`;
        if (v === undefined) {
          if (fill === undefined) return `column ${JSON.stringify(cols[j])} is missing`;
          v = fill;
        }
        a[base + j] = v;
      }
      return null;
    },
  };
}
