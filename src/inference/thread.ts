// The piscina worker-thread entry: parse → preprocess → onnxruntime → postprocess → stored rows.
// It runs off the main thread because onnxruntime-node's run() holds its thread's event loop for
// the whole inference; on the main thread that would stop BullMQ lock renewal.
// onnxruntime-node is imported lazily so the main thread can import this module (for its types)
// without loading the native runtime.
import type * as Ort from 'onnxruntime-node';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { Buffer } from 'node:buffer';
import { threadId } from 'node:worker_threads';
import { InferenceError } from '../errors.js';
import { ErrorCounter, type ErrorCount } from './rowErrorKinds.js';
import { lineOf, type ChunkLines } from '../csv/records.js';
import { scrubOrtMessage } from './ortMessage.js';
import { parseNumericSlice } from '../csv/numeric.js';
import { assertDelimiter, parseChunk } from '../csv/parse.js';
import { csvSlices } from '../csv/slices.js';
import { rawCsvRecords } from '../csv/rawRecords.js';
import { planInputs } from '../models/inputs.js';
import type { Signature } from '../models/signature.js';
import type { PlanInput, RunPlan } from '../models/types.js';
import { encodeResultRows, type ResultRow } from '../results/resultRows.js';
import { postprocess, type RowPrediction } from './postprocess.js';
import { columnIndex, createPreprocessor, passthroughCsv, passthroughJson, rowShape, type ColumnMap, type InputArray } from './preprocess.js';
import { createInputsPreprocessor, type InputData, type InputsPreprocessor, type PreparedInputs } from './columnInputs.js';
import { chunkMeasures, type ChunkMetrics } from './chunkMeasures.js';

export type Part = {
  rowCount: number; header: string[]; delimiter: string; decimal?: '.' | ',';
  /** Where a CSV part's rows stand in the uploaded file: a row error names its line. */
  lines?: ChunkLines;
} & (
  | { format: 'csv'; payload: Uint8Array }
  | { format: 'json'; records: Record<string, unknown>[] }
);

/** A model version as a thread runs it. */
export interface ThreadModel {
  modelPath: string;
  /** Session cache key, e.g. version id + sha. */
  modelKey: string;
  plan: RunPlan;
  signature: Signature;
}

export interface InferenceTask extends ThreadModel {
  executionProvider: 'cpu' | 'cuda';
  intraOpThreads: number;
  batchSize: number;
  parts: Part[];
  /** An evaluation job: the column holding each row's true label (read like a passthrough column). */
  labelColumn?: string;
  /** A compare job: the second model every row is also scored with, in the same pass. */
  compare?: ThreadModel;
}

export interface PartResult {
  /** All rowCount rows of the part, in order (src/results/resultRows.ts): predictions and row errors. */
  rows: Uint8Array;
  succeeded: number;
  failed: number;
  /** The part's row errors by kind, with the first rows (0-based in the part) of each: the job's error summary. */
  errors: ErrorCount[];
  /** Evaluation and compare jobs: the part's figures, merged with the other chunks' when the job ends. */
  metrics?: ChunkMetrics;
}

export interface InferenceResult {
  parts: PartResult[];
  provider: 'cpu' | 'cuda';
  /** CUDA was asked for but could not be used; the task ran on CPU. */
  fellBack: boolean;
  /** The worker thread that ran the task (0: the main thread), so tests can see the pool spread its work. */
  thread: number;
  /** Where the task's time went on the thread (the worker's stage histograms). */
  timing?: TaskTiming;
}

/**
 * A task's time on its thread by stage, in ms, and the rows of each onnxruntime run. Taken with a
 * clock read around each slice and each run, never per row. Loading a session is in none of them.
 */
export interface TaskTiming {
  /** Parsing CSV / reading JSON records and building the input tensors. */
  parseMs: number;
  /** onnxruntime run() and reading its outputs. */
  inferenceMs: number;
  /** Building and encoding the result rows. */
  encodeMs: number;
  /** Rows per run(), in order. */
  runs: number[];
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

type SessionTask = Pick<InferenceTask, 'modelPath' | 'modelKey' | 'executionProvider' | 'intraOpThreads'>;

async function createSession(task: SessionTask): Promise<Loaded> {
  const { InferenceSession } = await ort();
  // No CPU arena: a run's memory goes back when the run ends instead of staying with the session
  // (a tenant's graph can allocate gigabytes from its input; pool.ts's MemoryGuard says the rest).
  const base = { graphOptimizationLevel: 'all', intraOpNumThreads: task.intraOpThreads, enableCpuMemArena: false } as const;
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

async function sessionFor(task: SessionTask): Promise<Loaded> {
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

/** CSV parts are prepared in slices of the batch size, but at least this many rows (parse calls have a fixed cost). */
const MIN_SLICE_ROWS = 256;

/**
 * Rows prepared together: a whole part, or a slice of a large CSV part. The thread holds about one
 * inference batch of rows at a time, not whole chunks: a 5000-row chunk parsed at once is 100,000
 * cell strings plus its predictions and encoded results, a working set that needs V8's young generation
 * at its largest (pool.ts caps it) or is promoted and collected as old garbage.
 */
interface Segment {
  part: number;
  pre: PreparedInputs;
  passthrough: ((string | null)[] | null)[];
  /** Row i's input as uploaded, for a failed row's result (asked for only when a row failed). */
  record: (i: number) => Uint8Array | string | null;
  /** The same rows prepared for another model (a compare job whose inputs differ): parsed again. */
  again: (preprocessor: InputsPreprocessor, map: ColumnMap | null) => PreparedInputs;
}

/** Exactly n entries: the chunk says how many rows it holds, and every one gets a result row. */
function fit<T, F>(xs: readonly T[], n: number, filler: F): (T | F)[] {
  const out: (T | F)[] = xs.slice(0, n);
  while (out.length < n) out.push(filler);
  return out;
}

/**
 * The plan's inputs as one preprocessor. A single numeric input takes preprocess.ts's road (one
 * typed array, the numeric fast path); any other plan columnInputs.ts's, one tensor per input.
 */
function inputsPreprocessor(inputs: PlanInput[], signature: Signature): InputsPreprocessor {
  const only = inputs.length === 1 ? inputs[0] : undefined;
  if (!only || only.type === 'string' || only.type === 'bool') return createInputsPreprocessor(inputs, signature);
  const inputType = only.type;
  const shape = rowShape({ inputShape: [-1, ...only.shape] }, only.columns.length);
  const one = createPreprocessor({ ...only, missing_values: signature.missing_values }, { inputShape: [-1, ...shape], inputType });
  const wrap = (p: ReturnType<typeof one.csv>): PreparedInputs => ({ data: [p.data], valid: p.valid, errors: p.errors });
  return {
    columns: only.columns,
    rowSizes: [one.rowSize],
    shapes: [shape],
    csv: (rows, map, rowErrors) => wrap(one.csv(rows, map, rowErrors)),
    json: (records, rowErrors) => wrap(one.json(records, rowErrors)),
    numbers: (values, count, texts) => wrap(one.numbers(values, count, texts)),
  };
}

function prepareCsv(bytes: Uint8Array, n: number, part: Part, map: ColumnMap, preprocessor: InputsPreprocessor): Pick<Segment, 'pre' | 'passthrough'> {
  // The numeric fast path reads decimal points only; a decimal-comma upload takes the general road,
  // and so does a model with a string or bool input (a string column's "3.0" must stay "3.0").
  const fast = map.decimal === '.' && preprocessor.numbers ? parseNumericSlice(bytes, { delimiter: part.delimiter, fieldCount: part.header.length, expectedRows: n, ...map }) : null;
  if (fast) return { pre: preprocessor.numbers!(fast.values, n, fast.texts), passthrough: fast.passthrough };
  const parsed = parseChunk(bytes, { delimiter: part.delimiter, fieldCount: part.header.length, expectedRows: n });
  const rows = fit(parsed.rows, n, null);
  const errors = fit(parsed.errors, n, 'row missing from chunk');
  rows.forEach((r, i) => r === null && errors[i] === null && (errors[i] = 'row missing from chunk'));
  return { pre: preprocessor.csv(rows, map, errors), passthrough: rows.map((r) => passthroughCsv(r, map)) };
}

/**
 * The task's rows in order, prepared a part or a slice at a time, as the caller asks for them.
 * `pt` are the columns read as text beside the inputs: the passthrough columns, then the label
 * column of an evaluation job.
 */
function* segments(task: InferenceTask, preprocessor: InputsPreprocessor, maps: (ColumnMap | null)[], pt: readonly string[]): Generator<Segment> {
  const sliceRows = Math.max(MIN_SLICE_ROWS, task.batchSize);
  for (let pi = 0; pi < task.parts.length; pi++) {
    const part = task.parts[pi];
    const n = part.rowCount;
    if (part.format === 'json') {
      const records = fit(part.records, n, null);
      const missing = records.map((r) => (r === null ? 'record missing from chunk' : null));
      yield {
        part: pi, pre: preprocessor.json(records, missing), passthrough: records.map((r) => passthroughJson(r, pt)), record: (i) => (records[i] === null ? null : JSON.stringify(records[i])),
        again: (other) => other.json(records, missing),
      };
      continue;
    }
    const map = maps[pi]!;
    const slices = csvSlices(part.payload, n, sliceRows) ?? [{ bytes: part.payload, rows: n }];
    for (const slice of slices) {
      let raw: Uint8Array[] | null | undefined;
      const record = (i: number) => (raw === undefined ? (raw = rawCsvRecords(slice.bytes, slice.rows)) : raw)?.[i] ?? null;
      yield { part: pi, ...prepareCsv(slice.bytes, slice.rows, part, map, preprocessor), record, again: (other, otherMap) => prepareCsv(slice.bytes, slice.rows, part, otherMap!, other).pre };
    }
  }
}

function concat(arrays: InputData[], total: number): InputData {
  if (arrays.length === 0) return new Float32Array(0);
  if (arrays.length === 1) return arrays[0];
  if (Array.isArray(arrays[0])) return ([] as string[]).concat(...(arrays as string[][]));
  const out = new (arrays[0].constructor as new (n: number) => InputArray | Uint8Array)(total);
  let at = 0;
  for (const a of arrays as (InputArray | Uint8Array)[]) {
    out.set(a as never, at);
    at += a.length;
  }
  return out;
}

/** How one model's inputs are prepared and run: its plan's inputs, their preprocessor, each part's column map. */
interface Prepared {
  model: ThreadModel;
  inputs: PlanInput[];
  preprocessor: InputsPreprocessor;
  maps: (ColumnMap | null)[];
}

/** What can fail a whole task's preparation, checked before any row is scored: the header against the signature, and the delimiter. */
function prepareModel(model: ThreadModel, parts: Part[], pt: readonly string[]): Prepared {
  try {
    // Plans stored before issue 13 feed one input from the signature's columns: read as a list.
    const inputs = planInputs(model.plan, model.signature);
    const preprocessor = inputsPreprocessor(inputs, model.signature);
    const maps = parts.map((p) => {
      if (p.format !== 'csv') return null;
      assertDelimiter(p.delimiter);
      return columnIndex(p.header, { columns: preprocessor.columns, passthrough: pt }, p.decimal ?? '.');
    });
    return { model, inputs, preprocessor, maps };
  } catch (err) {
    throw new InferenceError(`cannot prepare input: ${(err as Error).message}`, 'prepare', { cause: err });
  }
}

/** Runs prepared rows through one model's session, a batch at a time. */
function createRunner(task: InferenceTask, { model, inputs, preprocessor }: Prepared) {
  const { plan, signature } = model;
  const { rowSizes, shapes } = preprocessor;
  const step = Math.max(1, Math.min(task.batchSize, plan.maxBatch ?? Infinity));
  const fetches = [signature.task === 'classification' ? (plan.probabilities ?? plan.label) : plan.value].filter((x): x is string => !!x);
  const session = { ...model, executionProvider: task.executionProvider, intraOpThreads: task.intraOpThreads };
  const runner = {
    step,
    loaded: undefined as Loaded | undefined,
    /** Time in run() and postprocessing, and rows per run(), for TaskTiming. */
    ms: 0,
    runs: [] as number[],
    /** A float32 regression output: its values are kept shortest (postprocess.ts); Math.fround gives each back exactly. */
    float32Value: false,
    async run(data: InputData[], total: number): Promise<RowPrediction[]> {
      if (!runner.loaded) {
        try {
          runner.loaded = await sessionFor(session);
        } catch (err) {
          throw new InferenceError(`model failed to load: ${scrubOrtMessage((err as Error).message, { [model.modelPath]: 'the model file' })}`, 'load', { cause: err });
        }
      }
      const { Tensor } = await ort();
      const predictions: RowPrediction[] = [];
      const started = performance.now();
      for (let at = 0; at < total; at += step) {
        const n = Math.min(step, total - at);
        try {
          const feeds: Record<string, Ort.Tensor> = {};
          inputs.forEach((inp, k) => {
            const d = data[k];
            const from = at * rowSizes[k];
            const to = (at + n) * rowSizes[k];
            feeds[inp.name] = new Tensor(inp.type, (Array.isArray(d) ? d.slice(from, to) : d.subarray(from, to)) as never, [n, ...shapes[k]]);
          });
          const outputs = await runner.loaded.session.run(feeds, fetches);
          if (signature.task === 'regression' && plan.value) runner.float32Value = outputs[plan.value]?.type === 'float32';
          for (const p of postprocess(outputs, plan, signature.task, n)) predictions.push(p);
          runner.runs.push(n);
        } catch (err) {
          throw new InferenceError(`inference failed on a batch of ${n} rows: ${scrubOrtMessage((err as Error).message)}`, 'run', { cause: err });
        }
      }
      runner.ms += performance.now() - started;
      return predictions;
    },
  };
  return runner;
}

/** Two models read the same tensors when their inputs are fed alike (same columns, types, shapes, preprocessing). */
function sameInputs(a: Prepared, b: Prepared): boolean {
  const missing = (m: ThreadModel) => JSON.stringify(m.signature.missing_values ?? null);
  return JSON.stringify(a.inputs) === JSON.stringify(b.inputs) && missing(a.model) === missing(b.model);
}

/** The rows of `segs` that `pre` lists as valid, concatenated per input: one run's feeds. */
function gather(pres: PreparedInputs[], rowSizes: readonly number[]): { data: InputData[]; total: number } {
  const total = pres.reduce((a, p) => a + p.valid.length, 0);
  return { data: rowSizes.map((size, k) => concat(pres.map((p) => p.data[k]), total * size)), total };
}

/**
 * Runs one task; throws InferenceError when the task as a whole cannot run. Rows go through in
 * slices: prepare (parse, preprocess) until about one batch is gathered, run it, encode those
 * rows' results, let them go. Small parts (the batcher's) gather into shared runs, as before.
 * A compare job runs every slice through its second model too, on the same tensors when both
 * models feed their inputs alike, else on the same parsed bytes prepared again; an evaluation job
 * reads its label column beside the passthrough columns. Their figures are taken here, per part
 * (chunkMeasures.ts), so the job never reads its rows twice.
 */
export async function runInference(task: InferenceTask): Promise<InferenceResult> {
  const { signature } = task;
  const passthrough = signature.passthrough ?? [];
  const pt = task.labelColumn === undefined ? passthrough : [...passthrough, task.labelColumn];
  const main = prepareModel(task, task.parts, pt);
  const second = task.compare ? prepareModel(task.compare, task.parts, pt) : null;
  const shared = second !== null && sameInputs(main, second);
  const run = createRunner(task, main);
  const runCompare = second && createRunner(task, second);
  const step = Math.min(run.step, runCompare?.step ?? Infinity);

  const pieces: Buffer[][] = task.parts.map(() => []);
  const succeeded: number[] = task.parts.map(() => 0);
  const errorCounts = task.parts.map(() => new ErrorCounter());
  const rowsDone: number[] = task.parts.map(() => 0);
  const measures = task.labelColumn !== undefined || task.compare ? task.parts.map((p) => chunkMeasures(task, task.compare, p.decimal ?? '.')) : null;
  let pending: Segment[] = [];
  let pendingRows = 0;
  let parseMs = 0;
  let encodeMs = 0;
  async function flush() {
    const segs = pending;
    pending = [];
    pendingRows = 0;
    let t = performance.now();
    const feeds = gather(segs.map((s) => s.pre), main.preprocessor.rowSizes);
    parseMs += performance.now() - t;
    const predictions = feeds.total > 0 ? await run.run(feeds.data, feeds.total) : [];
    let comparePres: PreparedInputs[] = [];
    let compared: RowPrediction[] = [];
    if (second && runCompare) {
      t = performance.now();
      comparePres = shared ? segs.map((s) => s.pre) : segs.map((s) => s.again(second.preprocessor, second.maps[s.part]));
      const cf = shared ? feeds : gather(comparePres, second.preprocessor.rowSizes);
      parseMs += performance.now() - t;
      compared = cf.total > 0 ? await runCompare.run(cf.data, cf.total) : [];
    }
    t = performance.now();
    let g = 0;
    let cg = 0;
    segs.forEach(({ part, pre, passthrough: cells, record }, si) => {
      const rows: ResultRow[] = new Array(pre.errors.length);
      const cpre = comparePres[si];
      const m = measures?.[part];
      let v = 0;
      let cv = 0;
      for (let i = 0; i < rows.length; i++) {
        // pre.valid lists the rows in `data`, ascending: the next valid row takes the next prediction.
        const p = v < pre.valid.length && pre.valid[v] === i ? predictions[g + v++] : undefined;
        const bare = pre.errors[i] ?? p?.error ?? (p ? null : 'row was not scored');
        if (bare === null) succeeded[part]++;
        else errorCounts[part].add(bare, rowsDone[part] + i);
        const lines = task.parts[part].lines;
        // The row number is the result's own; the line is where to look in the file.
        const error = bare !== null && lines ? `line ${lineOf(lines, rowsDone[part] + i)}: ${bare}` : bare;
        // An evaluation job's label is the last text cell read; the rest are the passthrough columns.
        const row = cells[i];
        const label = task.labelColumn === undefined ? undefined : (row?.[row.length - 1] ?? null);
        const kept = label === undefined || row === null ? row : passthrough.length ? row.slice(0, -1) : null;
        const out: ResultRow = { value: error === null ? p!.value : null, scores: error === null ? p!.scores : null, passthrough: kept, error, record: error === null ? null : record(i) };
        let c: RowPrediction | undefined;
        if (cpre) {
          c = cv < cpre.valid.length && cpre.valid[cv] === i ? compared[cg + cv++] : undefined;
          if (c?.error) c = undefined;
          out.compareValue = c?.value ?? null;
          out.compareScores = c?.scores ?? null;
        }
        rows[i] = out;
        m?.add(label ?? null, error === null ? exact(p!, run.float32Value) : null, c ? exact(c, runCompare!.float32Value) : null);
      }
      g += pre.valid.length;
      cg += cpre?.valid.length ?? 0;
      rowsDone[part] += rows.length;
      pieces[part].push(encodeResultRows(rows));
    });
    encodeMs += performance.now() - t;
  }

  const it = segments(task, main.preprocessor, main.maps, pt);
  for (;;) {
    let next: IteratorResult<Segment>;
    const t = performance.now();
    try {
      next = it.next();
    } catch (err) {
      throw new InferenceError(`cannot prepare input: ${(err as Error).message}`, 'prepare', { cause: err });
    }
    parseMs += performance.now() - t;
    if (next.done) break;
    pending.push(next.value);
    // Rows that failed preparation count too: they are encoded at the flush, so they wait as well.
    pendingRows += next.value.pre.errors.length;
    if (pendingRows >= step) await flush();
  }
  await flush();

  const parts = task.parts.map((part, pi): PartResult => {
    const mine = pieces[pi];
    const result: PartResult = { rows: ownBuffer(mine.length === 1 ? mine[0] : Buffer.concat(mine)), succeeded: succeeded[pi], failed: part.rowCount - succeeded[pi], errors: errorCounts[pi].counts() };
    if (measures) result.metrics = measures[pi].partial();
    return result;
  });
  // With no row to score no session was touched; report what this thread would have used.
  const fellBack = run.loaded?.fellBack ?? (task.executionProvider === 'cuda' && cudaUnavailable);
  const timing: TaskTiming = { parseMs, inferenceMs: run.ms + (runCompare?.ms ?? 0), encodeMs, runs: runCompare ? [...run.runs, ...runCompare.runs] : run.runs };
  return { parts, provider: run.loaded?.provider ?? (task.executionProvider === 'cuda' && !fellBack ? 'cuda' : 'cpu'), fellBack, thread: threadId, timing };
}

/** A prediction as the model gave it: a float32 regression value as the float32 itself, not its shortest decimal. */
function exact(p: RowPrediction, float32Value: boolean): RowPrediction {
  return float32Value && p.value !== null ? { value: Math.fround(p.value), scores: p.scores } : p;
}

// Small Buffers share Node's 8 kB allocation pool; transferring one would detach its neighbours too.
function ownBuffer(b: Buffer): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

/**
 * piscina handler `releaseSessions`, run on every thread when the pool closes: a thread ended with
 * live onnxruntime sessions can throw from a native finalizer, which aborts the whole process.
 */
export async function releaseSessions() {
  const loaded = [...sessions.values()];
  sessions.clear();
  await Promise.allSettled(loaded.map(async (l) => (await l).session.release()));
}

/** piscina handler: result buffers are transferred, not cloned; failures come back as values (see ThreadReply). */
export default async function handle(task: InferenceTask) {
  let reply: ThreadReply;
  try {
    reply = { ok: true, result: await runInference(task) };
  } catch (err) {
    if (!(err instanceof InferenceError)) throw err;
    reply = { ok: false, error: { message: err.message, stage: err.stage } };
  }
  const buffers = reply.ok ? reply.result.parts.map((p) => p.rows.buffer) : [];
  return move({ [transferableSymbol]: buffers, [valueSymbol]: reply } as never);
}
