// The thread's pipeline, called in-process (pool.test.ts runs it in real worker threads).
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { transferableSymbol, valueSymbol } from 'piscina';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceError } from '../../src/errors.js';
import handle, { SESSIONS_PER_THREAD, runInference, type ThreadReply } from '../../src/inference/thread.js';
import { argmax } from '../../src/inference/postprocess.js';
import { cudaAvailable } from './cuda.js';
import {
  batchOnePath,
  classifierPath,
  csvPart,
  dir,
  directProbabilities,
  failsAtRunPath,
  jsonPart,
  logitsPath,
  plan,
  readRows,
  regressionPath,
  removeModels,
  signature,
  task,
} from './modelFixtures.js';

afterAll(removeModels);

describe('runInference', () => {
  it('scores CSV and JSON parts together, row errors in place, equal to onnxruntime run directly', async () => {
    const a = csvPart(['r1,1,2,3,4', 'r2,abc,2,3,4', 'r3,0.5,-1,7,2', '"r4,x",9,9,9,9', 'broken,1,2']);
    const b = jsonPart([{ id: 'j1', f1: 3, f2: '4', f3: 5, f4: 6 }, { id: 'j2', f1: 1, f2: 2, f3: null, f4: 4 }]);
    // batchSize 2 makes the 4 valid rows of both parts go through 2 separate runs.
    const result = await runInference(task([a, b], { batchSize: 2 }));
    const expected = await directProbabilities(classifierPath, [
      [1, 2, 3, 4],
      [0.5, -1, 7, 2],
      [9, 9, 9, 9],
      [3, 4, 5, 6],
    ]);

    expect(result.parts.map((p) => [p.succeeded, p.failed])).toEqual([
      [3, 2],
      [1, 1],
    ]);
    // Each part's results hold exactly its rows, in order.
    const rowsA = readRows(result.parts[0]);
    const rowsB = readRows(result.parts[1]);
    expect(rowsA.map((r) => r.passthrough)).toEqual([['r1'], ['r2'], ['r3'], ['r4,x'], ['broken']]); // a ragged row keeps its passthrough cell
    expect(rowsB.map((r) => r.passthrough)).toEqual([['j1'], ['j2']]);
    const scored = [rowsA[0], rowsA[2], rowsA[3], rowsB[0]];
    scored.forEach((r, k) => {
      expect(r.error).toBeNull();
      expect(r.scores!.map(Math.fround)).toEqual(Array.from(expected[k]));
      expect(r.value).toBe(argmax(expected[k]));
    });
    expect(rowsA[1]).toMatchObject({ value: null, scores: null, passthrough: ['r2'], error: 'column "f1": "abc" is not a number' });
    expect(rowsA[3].passthrough).toEqual(['r4,x']);
    expect(rowsA[4]).toMatchObject({ value: null, scores: null, passthrough: ['broken'], error: 'expected 5 fields, got 3' });
    expect(rowsB[1]).toMatchObject({ value: null, passthrough: ['j2'], error: 'column "f3" is missing' });
  });

  it('softmaxes logits when the plan says so, matching the model that has the Softmax', async () => {
    const lines = ['a,1,2,3,4', 'b,-3,0,2,8'];
    const withSoftmax = readRows((await runInference(task([csvPart(lines)]))).parts[0]);
    const fromLogits = readRows(
      (await runInference(task([csvPart(lines)], { modelPath: logitsPath, modelKey: 'logits@1', plan: { ...plan, probabilities: 'logits', softmax: true } }))).parts[0],
    );
    fromLogits.forEach((r, i) => {
      expect(r.value).toBe(withSoftmax[i].value);
      r.scores!.forEach((s, j) => expect(s).toBeCloseTo(withSoftmax[i].scores![j], 6));
    });
  });

  it('runs regression models', async () => {
    const sig = { ...signature, task: 'regression' as const, labels: undefined, mean: undefined, std: undefined };
    const result = await runInference(
      task([csvPart(['a,1,2,3,4'])], { modelPath: regressionPath, modelKey: 'reg@1', signature: sig, plan: { input: 'float_input', inputType: 'float32', inputShape: [-1, 4], maxBatch: null, value: 'variable' } }),
    );
    const [row] = readRows(result.parts[0]);
    expect(row.value).toBe(Math.fround(0.5 - 2 + 6 + 1 + 3));
    expect(row.scores).toBeNull();
  });

  it('splits into runs the graph accepts when its batch dim is fixed at 1', async () => {
    const result = await runInference(task([csvPart(['a,1,2,3,4', 'b,2,3,4,5', 'c,3,4,5,6'])], { modelPath: batchOnePath, modelKey: 'one@1', plan: { ...plan, maxBatch: 1 } }));
    expect(result.parts[0]).toMatchObject({ succeeded: 3, failed: 0 });
  });

  it('a batch the model rejects throws InferenceError (stage run)', async () => {
    const err = await runInference(task([csvPart(['a,1,2,3,4'])], { modelPath: failsAtRunPath, modelKey: 'fails@1', plan: { ...plan, input: 'x', probabilities: 'y' } })).catch((e) => e);
    expect(err).toBeInstanceOf(InferenceError);
    expect(err).toMatchObject({ name: 'InferenceError', stage: 'run' });
  });

  it('a header that lacks a signature column is an InferenceError (stage prepare)', async () => {
    const err = await runInference(task([csvPart(['1,2,3'], ['f1', 'f2', 'f3'])])).catch((e) => e);
    expect(err).toMatchObject({ name: 'InferenceError', stage: 'prepare' });
  });

  it('a part whose rows all fail needs no model at all', async () => {
    const result = await runInference(task([csvPart(['a,x,2,3,4'])], { modelPath: join(dir, 'does-not-exist.onnx'), modelKey: 'absent@1' }));
    expect(result.parts[0]).toMatchObject({ succeeded: 0, failed: 1 });
  });

  it('CUDA requested: runs on CUDA where onnxruntime has it, else on CPU saying it fell back; same answers', async () => {
    const cuda = await cudaAvailable();
    const t = task([csvPart(['a,1,2,3,4'])], { executionProvider: 'cuda', modelKey: 'classifier@cuda' });
    const result = await runInference(t);
    expect(result).toMatchObject({ provider: cuda ? 'cuda' : 'cpu', fellBack: !cuda });
    const cpu = await runInference({ ...t, executionProvider: 'cpu' });
    expect(cpu).toMatchObject({ provider: 'cpu', fellBack: false });
    const [got, want] = [readRows(result.parts[0]), readRows(cpu.parts[0])];
    expect(got.map(({ scores: _, ...r }) => r)).toEqual(want.map(({ scores: _, ...r }) => r));
    got.forEach((r, i) => r.scores!.forEach((s, k) => expect(s).toBeCloseTo(want[i].scores![k], 5)));
  });

  it('caches sessions per model key and evicts the least recently used', async () => {
    const path = join(dir, 'lru.onnx');
    copyFileSync(classifierPath, path);
    const one = (key: string, modelPath = path) => runInference(task([csvPart(['a,1,2,3,4'])], { modelPath, modelKey: key }));
    await one('lru@1');
    rmSync(path);
    // Still served from the cache though the file is gone.
    expect((await one('lru@1')).parts[0].succeeded).toBe(1);
    for (let i = 0; i < SESSIONS_PER_THREAD - 1; i++) await one(`other@${i}`, classifierPath);
    expect((await one('lru@1')).parts[0].succeeded).toBe(1); // used again: now the most recent
    for (let i = 0; i < SESSIONS_PER_THREAD; i++) await one(`more@${i}`, classifierPath);
    await expect(one('lru@1')).rejects.toMatchObject({ name: 'InferenceError', stage: 'load' });
  });
});

describe('piscina handler', () => {
  it('moves each part’s COPY buffer, each one owning its whole ArrayBuffer', async () => {
    // Tiny COPY texts come from Node's shared Buffer pool: transferring that would detach other Buffers.
    const moved = (await handle(task([csvPart(['a,1,2,3,4']), csvPart(['b,1,2,3,4'])]))) as unknown as Record<symbol, unknown>;
    const reply = moved[valueSymbol] as ThreadReply;
    const buffers = moved[transferableSymbol] as ArrayBuffer[];
    expect(reply.ok).toBe(true);
    if (!reply.ok) return;
    expect(buffers).toHaveLength(2);
    reply.result.parts.forEach((p, i) => {
      expect(p.rows.buffer).toBe(buffers[i]);
      expect(p.rows.byteLength).toBe(buffers[i].byteLength);
    });
  });

  it('returns inference failures as values, since an Error crossing threads loses its class', async () => {
    const moved = (await handle(task([csvPart(['a,1,2,3,4'])], { modelPath: join(dir, 'missing.onnx'), modelKey: 'missing@1' }))) as unknown as Record<symbol, unknown>;
    expect(moved[valueSymbol]).toMatchObject({ ok: false, error: { stage: 'load' } });
  });
});

describe('large parts', () => {
  it('a part larger than a slice is scored slice by slice, every row in its place', async () => {
    // 700 rows with batch size 1: slices of 256 rows (the least), each run row by row.
    const lines = Array.from({ length: 700 }, (_, i) => (i % 97 === 5 ? `r${i},oops,1,1,1` : `r${i},${i % 7},${(i % 5) - 2},${i % 3},1.5`));
    const result = await runInference(task([csvPart(lines)], { batchSize: 1 }));
    const bad = lines.filter((l) => l.includes('oops')).length;
    expect(result.parts[0]).toMatchObject({ succeeded: 700 - bad, failed: bad });
    const rows = readRows(result.parts[0]);
    expect(rows.map((r) => r.passthrough![0])).toEqual(lines.map((_, i) => `r${i}`));
    expect(rows.filter((r) => r.error).map((r) => r.error)).toEqual(Array(bad).fill('column "f1": "oops" is not a number'));
    const sample = [0, 255, 256, 257, 511, 512, 699];
    const expected = await directProbabilities(
      classifierPath,
      sample.map((i) => [i % 7, (i % 5) - 2, i % 3, 1.5]),
    );
    sample.forEach((i, k) => expect(rows[i].scores!.map(Math.fround)).toEqual(Array.from(expected[k])));
  });
});
