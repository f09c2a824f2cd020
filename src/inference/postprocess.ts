import type { Signature } from '../models/signature.js';
import type { RunPlan } from '../models/types.js';
import { shortestFloat4 } from '../results/shortestFloat4.js';

// onnxruntime output tensors → one prediction per row. Only what the plan names is read; the plan
// was settled at registration, so a tensor that does not fit here is a model/plan mismatch and throws
// (the whole run fails; rows are not blamed for it).

/** The part of an onnxruntime Tensor read here (kept structural so tests need no session). */
export interface OutputTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

export interface RowPrediction {
  /** Regression value, or the class index for classification; null for raw and for row errors. */
  value: number | null;
  /** Class probabilities, or the row's flattened raw output; null otherwise. */
  scores: ArrayLike<number> | null;
  /** Set when this row's output cannot be read as a prediction (e.g. all-NaN probabilities). */
  error?: string;
}

export function postprocess(
  outputs: Readonly<Record<string, OutputTensor>>,
  plan: Pick<RunPlan, 'probabilities' | 'label' | 'value' | 'labels' | 'softmax'>,
  task: Signature['task'],
  rows: number,
): RowPrediction[] {
  if (task === 'classification') {
    if (plan.probabilities) return fromProbabilities(tensor(outputs, plan.probabilities), rows, plan.softmax === true);
    if (plan.label) return fromLabels(tensor(outputs, plan.label), rows, plan.labels);
    throw new Error('classification plan names neither a probabilities nor a label output');
  }
  if (!plan.value) throw new Error(`${task} plan names no value output`);
  const t = tensor(outputs, plan.value);
  const per = perRow(t, rows);
  const values = numbers(t);
  const out: RowPrediction[] = new Array(rows);
  if (task === 'regression') {
    if (per !== 1) throw new Error(`regression output "${plan.value}" has ${per} values per row (dims ${JSON.stringify(t.dims)}), expected 1`);
    // A float32 value is kept as the shortest decimal that reads back as it (3.12, not the double
    // 3.119999885559082): stored as float8, it then prints as the model meant everywhere it is read.
    // Math.fround gives the float32 back, so nothing is lost.
    if (values instanceof Float32Array) for (let i = 0; i < rows; i++) out[i] = { value: shortestFloat4(values[i]), scores: null };
    else for (let i = 0; i < rows; i++) out[i] = { value: values[i], scores: null };
  } else {
    for (let i = 0; i < rows; i++) out[i] = { value: null, scores: values.subarray(i * per, (i + 1) * per) };
  }
  return out;
}

function fromProbabilities(t: OutputTensor, rows: number, softmax: boolean): RowPrediction[] {
  const c = perRow(t, rows);
  const all = numbers(t);
  const out: RowPrediction[] = new Array(rows);
  for (let i = 0; i < rows; i++) {
    let p = all.subarray(i * c, (i + 1) * c);
    if (softmax) p = softmaxOf(p);
    const k = argmax(p);
    out[i] = k < 0 ? { value: null, scores: p, error: 'model returned NaN for every class' } : { value: k, scores: p };
  }
  return out;
}

function fromLabels(t: OutputTensor, rows: number, labels: readonly string[] | undefined): RowPrediction[] {
  if (perRow(t, rows) !== 1) throw new Error(`label output has dims ${JSON.stringify(t.dims)}, expected one label per row`);
  const data = t.data as ArrayLike<unknown>;
  const index = new Map((labels ?? []).map((l, i) => [l, i]));
  const out: RowPrediction[] = new Array(rows);
  for (let i = 0; i < rows; i++) {
    const raw = data[i];
    const name = String(raw);
    let k = index.get(name);
    // An int64 label with no name of its own is the class index (skl2onnx with integer classes 0..C-1).
    if (k === undefined && typeof raw === 'bigint' && (!labels || (raw >= 0n && raw < BigInt(labels.length)))) k = Number(raw);
    out[i] = k === undefined ? { value: null, scores: null, error: `model returned label ${JSON.stringify(name)}, which is not among the labels` } : { value: k, scores: null };
  }
  return out;
}

function tensor(outputs: Readonly<Record<string, OutputTensor>>, name: string): OutputTensor {
  const t = outputs[name];
  if (!t) throw new Error(`model returned no output "${name}" (got ${Object.keys(outputs).join(', ') || 'none'})`);
  return t;
}

function perRow(t: OutputTensor, rows: number): number {
  const size = t.dims.reduce((a, b) => a * b, 1);
  if (rows === 0) return t.dims.slice(1).reduce((a, b) => a * b, 1);
  if (t.dims[0] !== rows || size % rows !== 0) throw new Error(`output dims ${JSON.stringify(t.dims)} do not match a batch of ${rows} rows`);
  return size / rows;
}

/** Float tensors are read in place; integer and bool tensors are widened to doubles. */
function numbers(t: OutputTensor): Float32Array | Float64Array {
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Float64Array) return d;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, Number);
  if (ArrayBuffer.isView(d) && !(d instanceof DataView)) return Float64Array.from(d as unknown as ArrayLike<number>);
  throw new Error(`cannot read a ${t.type} tensor as numbers`);
}

/** Softmax with the max subtracted first, so large logits do not overflow to Infinity/NaN. */
export function softmaxOf(z: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let j = 0; j < z.length; j++) if (z[j] > m) m = z[j];
  const out = new Float64Array(z.length);
  let sum = 0;
  for (let j = 0; j < z.length; j++) sum += out[j] = Math.exp(z[j] - m);
  for (let j = 0; j < z.length; j++) out[j] /= sum;
  return out;
}

/** First index of the largest value, NaNs ignored; -1 when every value is NaN. */
export function argmax(p: ArrayLike<number>): number {
  let k = -1;
  for (let j = 0; j < p.length; j++) if (!Number.isNaN(p[j]) && (k < 0 || p[j] > p[k])) k = j;
  return k;
}
