// The piscina worker-thread entry: parse → preprocess → onnxruntime → postprocess → COPY text.
// It runs off the main thread because onnxruntime-node's run() holds its thread's event loop for
// the whole inference; on the main thread that would stop BullMQ lock renewal.
// onnxruntime-node is imported lazily so the main thread can import this module (for its types
// and InferenceError) without loading the native runtime.
import type * as Ort from 'onnxruntime-node';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { parseChunk } from '../csv/parse.js';
import type { Signature } from '../models/signature.js';
import type { RunPlan } from '../models/types.js';
import { encodeCopyRows, type PredictionRow } from './copy-encode.js';
import { postprocess, type RowPrediction } from './postprocess.js';
import { columnIndex, createPreprocessor, passthroughCsv, passthroughJson, rowShape, type InputArray, type Preprocessed } from './preprocess.js';

export type Part = { jobId: string; firstRow: number; rowCount: number; header: string[]; delimiter: string } & (
  | { format: 'csv'; payload: Uint8Array }
  | { format: 'json'; records: Record<string, unknown>[] }
);

export interface InferenceTask {
  modelPath: string;
  /** Session cache key, e.g. version id + sha. */
  modelKey: string;
  plan: RunPlan;
  signature: Signature;
  executionProvider: 'cpu' | 'cuda';
  intraOpThreads: number;
  batchSize: number;
  parts: Part[];
}

export interface PartResult {
  /** COPY text for all rowCount rows of the part: predictions and row errors. */
  copy: Uint8Array;
  succeeded: number;
  failed: number;
}

export interface InferenceResult {
  parts: PartResult[];
  provider: 'cpu' | 'cuda';
  /** CUDA was asked for but could not be used; the task ran on CPU. */
  fellBack: boolean;
}

/** The task as a whole could not run (plan/header mismatch, model fails to load, run rejects the batch). */
export class InferenceError extends Error {
  override name = 'InferenceError';
  constructor(
    message: string,
    readonly stage: 'prepare' | 'load' | 'run',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What crosses the thread boundary: structured clone keeps neither an Error's class nor its name. */
export type ThreadReply = { ok: true; result: InferenceResult } | { ok: false; error: { message: string; stage: InferenceError['stage'] } };

/** Sessions kept per thread. Each thread holds its own copy of a model's weights. */
export const SESSIONS_PER_THREAD = 4;

interface Loaded {
  session: Ort.InferenceSession;
  provider: 'cpu' | 'cuda';
  fellBack: boolean;
}

const sessions = new Map<string, Promise<Loaded>>();
type OrtApi = typeof Ort.default;
// A CommonJS package: a plain ESM import puts its exports on `default`, tsx's loader on the namespace.
const loadOrt = () => import('onnxruntime-node').then((m): OrtApi => (m as unknown as { default?: OrtApi }).default ?? (m as unknown as OrtApi));
let ortModule: ReturnType<typeof loadOrt> | undefined;
// Once CUDA failed to load in this thread, later sessions skip straight to CPU.
let cudaUnavailable = false;

const ort = () => (ortModule ??= loadOrt());

async function createSession(task: InferenceTask): Promise<Loaded> {
  const { InferenceSession } = await ort();
  const base = { graphOptimizationLevel: 'all', intraOpNumThreads: task.intraOpThreads } as const;
  const wantsCuda = task.executionProvider === 'cuda';
  let cudaFailed = false;
  if (wantsCuda && !cudaUnavailable) {
    try {
      return { session: await InferenceSession.create(task.modelPath, { ...base, executionProviders: ['cuda', 'cpu'] }), provider: 'cuda', fellBack: false };
    } catch {
      // onnxruntime fails the whole session when a listed provider's library is missing; CPU is the fallback.
      cudaFailed = true;
    }
  }
  const session = await InferenceSession.create(task.modelPath, { ...base, executionProviders: ['cpu'] });
  // Blame CUDA only once CPU has loaded the same model: a broken model fails both ways.
  if (cudaFailed) cudaUnavailable = true;
  return { session, provider: 'cpu', fellBack: wantsCuda };
}

async function sessionFor(task: InferenceTask): Promise<Loaded> {
  const key = `${task.modelKey}|${task.executionProvider}|${task.intraOpThreads}`;
  let entry = sessions.get(key);
  if (entry) {
    sessions.delete(key); // re-insert: Map order is the recency order
  } else {
    entry = createSession(task);
    const loading = entry;
    loading.catch(() => sessions.get(key) === loading && sessions.delete(key));
    while (sessions.size >= SESSIONS_PER_THREAD) {
      const [oldest, evicted] = sessions.entries().next().value!;
      sessions.delete(oldest);
      // One task at a time per thread, so an evicted session is never mid-run.
      evicted.then((l) => l.session.release()).catch(() => {});
    }
  }
  sessions.set(key, entry);
  return entry;
}

interface PreparedPart {
  pre: Preprocessed;
  passthrough: ((string | null)[] | null)[];
}

function preparePart(part: Part, task: InferenceTask, preprocessor: ReturnType<typeof createPreprocessor>): PreparedPart {
  const n = part.rowCount;
  const pt = task.signature.passthrough ?? [];
  if (part.format === 'json') {
    const records = fit(part.records, n, null);
    const missing = records.map((r) => (r === null ? 'record missing from chunk' : null));
    return { pre: preprocessor.json(records, missing), passthrough: records.map((r) => passthroughJson(r, pt)) };
  }
  const parsed = parseChunk(part.payload, { delimiter: part.delimiter, fieldCount: part.header.length, expectedRows: n });
  const rows = fit(parsed.rows, n, null);
  const errors = fit(parsed.errors, n, 'row missing from chunk');
  rows.forEach((r, i) => r === null && errors[i] === null && (errors[i] = 'row missing from chunk'));
  const map = columnIndex(part.header, task.signature);
  return { pre: preprocessor.csv(rows, map, errors), passthrough: rows.map((r) => passthroughCsv(r, map)) };
}

/** Exactly n entries: the chunk says how many rows it holds, and every one gets a result row. */
function fit<T, F>(xs: readonly T[], n: number, filler: F): (T | F)[] {
  const out: (T | F)[] = xs.slice(0, n);
  while (out.length < n) out.push(filler);
  return out;
}

function concat(arrays: InputArray[], total: number): InputArray {
  if (arrays.length === 0) return new Float32Array(0);
  if (arrays.length === 1) return arrays[0];
  const out = new (arrays[0].constructor as new (n: number) => InputArray)(total);
  let at = 0;
  for (const a of arrays) {
    out.set(a as never, at);
    at += a.length;
  }
  return out;
}

/** Runs one task; throws InferenceError when the task as a whole cannot run. */
export async function runInference(task: InferenceTask): Promise<InferenceResult> {
  const { plan, signature } = task;
  let prepared: PreparedPart[];
  let shape: number[];
  try {
    const preprocessor = createPreprocessor(signature, plan);
    shape = rowShape(plan, signature.columns.length);
    prepared = task.parts.map((p) => preparePart(p, task, preprocessor));
  } catch (err) {
    throw new InferenceError(`cannot prepare input: ${(err as Error).message}`, 'prepare', { cause: err });
  }
  const rowSize = shape.reduce((a, b) => a * b, 1);
  const total = prepared.reduce((a, p) => a + p.pre.valid.length, 0);
  const data = concat(
    prepared.map((p) => p.pre.data),
    total * rowSize,
  );

  let loaded: Loaded | undefined;
  const predictions: RowPrediction[] = [];
  if (total > 0) {
    try {
      loaded = await sessionFor(task);
    } catch (err) {
      throw new InferenceError(`model failed to load: ${(err as Error).message}`, 'load', { cause: err });
    }
    const { Tensor } = await ort();
    const step = Math.max(1, Math.min(task.batchSize, plan.maxBatch ?? Infinity));
    const fetches = [signature.task === 'classification' ? (plan.probabilities ?? plan.label) : plan.value].filter((x): x is string => !!x);
    for (let at = 0; at < total; at += step) {
      const n = Math.min(step, total - at);
      try {
        const input = new Tensor(plan.inputType, data.subarray(at * rowSize, (at + n) * rowSize) as never, [n, ...shape]);
        const outputs = await loaded.session.run({ [plan.input]: input }, fetches);
        for (const p of postprocess(outputs, plan, signature.task, n)) predictions.push(p);
      } catch (err) {
        throw new InferenceError(`inference failed on a batch of ${n} rows: ${(err as Error).message}`, 'run', { cause: err });
      }
    }
  }

  let g = 0;
  const parts = task.parts.map((part, pi): PartResult => {
    const { pre, passthrough } = prepared[pi];
    const byRow = new Map<number, RowPrediction>();
    for (const i of pre.valid) byRow.set(i, predictions[g++]);
    let succeeded = 0;
    const rows: PredictionRow[] = [];
    for (let i = 0; i < part.rowCount; i++) {
      const p = byRow.get(i);
      const error = pre.errors[i] ?? p?.error ?? (p ? null : 'row was not scored');
      if (error === null) succeeded++;
      rows.push({ rowNo: part.firstRow + i, value: error === null ? p!.value : null, scores: error === null ? p!.scores : null, passthrough: passthrough[i], error });
    }
    return { copy: ownBuffer(encodeCopyRows(part.jobId, rows)), succeeded, failed: part.rowCount - succeeded };
  });
  // With no row to score no session was touched; report what this thread would have used.
  const fellBack = loaded?.fellBack ?? (task.executionProvider === 'cuda' && cudaUnavailable);
  return { parts, provider: loaded?.provider ?? (task.executionProvider === 'cuda' && !fellBack ? 'cuda' : 'cpu'), fellBack };
}

// Small Buffers share Node's 8 kB allocation pool; transferring one would detach its neighbours too.
function ownBuffer(b: Buffer): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

/** piscina handler: COPY buffers are transferred, not cloned; failures come back as values (see ThreadReply). */
export default async function handle(task: InferenceTask) {
  let reply: ThreadReply;
  try {
    reply = { ok: true, result: await runInference(task) };
  } catch (err) {
    if (!(err instanceof InferenceError)) throw err;
    reply = { ok: false, error: { message: err.message, stage: err.stage } };
  }
  const buffers = reply.ok ? reply.result.parts.map((p) => p.copy.buffer) : [];
  return move({ [transferableSymbol]: buffers, [valueSymbol]: reply } as never);
}
