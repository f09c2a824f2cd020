// Models on disk and matching signature/plan/task for the thread and pool tests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { failsAtRunModel, fixedWeights, linearRegression, mlpClassifier } from '../fixtures/onnxBuilder.js';
import { SignatureSchema, type Signature } from '../../src/models/signature.js';
import type { RunPlan } from '../../src/models/types.js';
import type { InferenceTask, Part, PartResult } from '../../src/inference/thread.js';
import { decodeResultRows } from '../../src/results/resultRows.js';

export const dir = mkdtempSync(join(tmpdir(), 'sluice-inference-'));
/** For afterAll in each file that imports these (vitest ends its workers without an 'exit' event). */
export const removeModels = () => rmSync(dir, { recursive: true, force: true });

export function writeModel(name: string, bytes: Uint8Array): string {
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, bytes);
  return path;
}

const layer = { weights: fixedWeights(3, 4), bias: [0.1, -0.2, 0.05] };
/** 4 features → Gemm → Softmax → probabilities [N, 3]. */
export const classifierPath = writeModel('classifier', mlpClassifier([layer], { softmax: true }));
/** The same layer with its batch dim fixed at 1. */
export const batchOnePath = writeModel('batch-one', mlpClassifier([layer], { softmax: true, batchDim: 1 }));
/** Same logits without the Softmax: the plan asks for one in postprocessing. */
export const logitsPath = writeModel('logits', mlpClassifier([layer]));
export const regressionPath = writeModel('regression', linearRegression([0.5, -1, 2, 0.25], 3));
export const failsAtRunPath = writeModel('fails-at-run', failsAtRunModel());

export const signature: Signature = SignatureSchema.parse({
  columns: ['f1', 'f2', 'f3', 'f4'],
  mean: [1, 2, 3, 4],
  std: [2, 2, 4, 4],
  task: 'classification',
  labels: ['setosa', 'versicolor', 'virginica'],
  passthrough: ['id'],
});

export const plan: RunPlan = {
  input: 'input',
  inputType: 'float32',
  inputShape: [-1, 4],
  maxBatch: null,
  probabilities: 'probabilities',
  labels: ['setosa', 'versicolor', 'virginica'],
  softmax: false,
};

export function task(parts: Part[], extra: Partial<InferenceTask> = {}): InferenceTask {
  return { modelPath: classifierPath, modelKey: 'classifier@1', plan, signature, executionProvider: 'cpu', intraOpThreads: 1, batchSize: 64, parts, ...extra };
}

export function csvPart(lines: string[], header = ['id', 'f1', 'f2', 'f3', 'f4']): Part {
  return { rowCount: lines.length, header, delimiter: ',', format: 'csv', payload: new TextEncoder().encode(lines.join('\n') + '\n') };
}

export function jsonPart(records: Record<string, unknown>[]): Part {
  return { rowCount: records.length, header: [...signature.columns!], delimiter: ',', format: 'json', records };
}

/** A part's results as stored, decoded, numbered from `firstRow`. */
export function readRows(part: PartResult, firstRow = 1) {
  return decodeResultRows({ first_row: firstRow, row_count: part.succeeded + part.failed, rows: part.rows, error: null }).map((r) => ({
    rowNo: r.row_no, value: r.value, scores: r.scores, passthrough: r.passthrough, error: r.error,
  }));
}

/** onnxruntime run directly on hand-normalised rows: what the pipeline must reproduce. */
export async function directProbabilities(modelPath: string, rows: number[][], outputName = 'probabilities'): Promise<Float32Array[]> {
  const x = Float32Array.from(rows.flatMap((r) => r.map((v, j) => (v - signature.mean![j]) / signature.std![j])));
  const session = await ort.InferenceSession.create(modelPath);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', x, [rows.length, 4]) });
    const data = out[outputName].data as Float32Array;
    const c = data.length / rows.length;
    return rows.map((_, i) => data.slice(i * c, (i + 1) * c));
  } finally {
    await session.release();
  }
}
