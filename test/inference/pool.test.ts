// Real worker threads: the pool bundles thread.ts (TypeScript) once and its .mjs bootstrap runs the
// bundle in each thread, here under vitest and, in a child process, under tsx as `npm start` runs the app.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createInferencePool, threadSource } from '../../src/inference/pool.js';
import { threadExecArgv } from '../../src/inference/threadArgv.js';
import { InferenceError } from '../../src/errors.js';
import { argmax } from '../../src/inference/postprocess.js';
import { cudaAvailable } from './cuda.js';
import { classifierPath, csvPart, dir, directProbabilities, failsAtRunPath, jsonPart, plan, readRows, removeModels, task } from './modelFixtures.js';

const pool = createInferencePool({ threads: 2 });
afterAll(async () => {
  await pool.close();
  removeModels();
});

describe('inference pool', () => {
  it('runs tasks in worker threads and returns what onnxruntime gives directly', async () => {
    const rows = [
      [1, 2, 3, 4],
      [-2, 0.5, 8, 1],
      [0, 0, 0, 0],
    ];
    const parts = [csvPart(rows.slice(0, 2).map((r, i) => `id${i},${r.join(',')}`)), jsonPart([{ id: 'last', f1: 0, f2: 0, f3: 0, f4: 0 }])];
    const result = await pool.run(task(parts));
    const expected = await directProbabilities(classifierPath, rows);
    expect(result.parts.every((p) => p.rows instanceof Uint8Array)).toBe(true);
    const got = result.parts.flatMap((p) => readRows(p));
    expect(got.map((r) => r.passthrough)).toEqual([['id0'], ['id1'], ['last']]);
    got.forEach((r, i) => {
      expect(r.scores!.map(Math.fround)).toEqual(Array.from(expected[i]));
      expect(r.value).toBe(argmax(expected[i]));
    });
  });

  it('spreads concurrent tasks over its threads, each result to its own caller', async () => {
    const runs = Array.from({ length: 6 }, (_, k) => pool.run(task([csvPart([`r${k},${k},1,1,1`])])));
    const results = await Promise.all(runs);
    results.forEach((r, k) => expect(readRows(r.parts[0])).toMatchObject([{ passthrough: [`r${k}`], error: null }]));
    // Both threads ran some of them (a thread takes one task at a time, so six at once must spread),
    // and none ran on the main thread (thread 0).
    const threads = new Set(results.map((r) => r.thread));
    expect(threads.size).toBe(2);
    expect(threads.has(0)).toBe(false);
  });

  it('rejects with a recognisable InferenceError when the model rejects the batch', async () => {
    const err = await pool.run(task([csvPart(['a,1,2,3,4'])], { modelPath: failsAtRunPath, modelKey: 'fails@pool', plan: { ...plan, input: 'x', probabilities: 'y' } })).catch((e) => e);
    expect(err).toBeInstanceOf(InferenceError);
    expect(err).toMatchObject({ name: 'InferenceError', stage: 'run' });
    expect(err.message).toMatch(/inference failed on a batch of 1 rows/);
  });

  it('CUDA requested: runs on CUDA where onnxruntime has it, else falls back to CPU in the thread and reports it', async () => {
    const cuda = await cudaAvailable();
    const result = await pool.run(task([csvPart(['a,1,2,3,4'])], { executionProvider: 'cuda' }));
    expect(result).toMatchObject({ provider: cuda ? 'cuda' : 'cpu', fellBack: !cuda });
    expect(result.parts[0]).toMatchObject({ succeeded: 1, failed: 0 });
    const [row] = readRows(result.parts[0]);
    const [expected] = await directProbabilities(classifierPath, [[1, 2, 3, 4]]);
    row.scores!.forEach((s, k) => expect(s).toBeCloseTo(expected[k], 5));
  });

  it('has one thread per core unless told otherwise', async () => {
    expect(pool.threads).toBe(2);
    const p = createInferencePool();
    expect(p.threads).toBe(availableParallelism());
    await p.close();
  });

  it('threads run one plain-JavaScript bundle of thread.ts and its src/ imports, packages left to require', () => {
    const code = threadSource();
    expect(code).toBe(threadSource()); // built once per process
    expect(code).toContain('runInference');
    expect(code).not.toMatch(/\bimport\(/); // run as a function, not a module
    const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(new Set(required)).toEqual(new Set(['piscina', 'node:buffer', 'node:worker_threads', 'csv-parse/sync', 'onnxruntime-node']));
  });

  it('threads take profiling and diagnostics options from the process, not loaders or V8 flags', () => {
    const argv = ['--import', 'tsx', '--require=./x.cjs', '--cpu-prof', '--cpu-prof-dir', '/tmp/p', '--heap-prof-interval=4096', '--max-semi-space-size=4', '--title', 'w', '--enable-source-maps', '-r', 'y'];
    expect(threadExecArgv(argv)).toEqual(['--cpu-prof', '--cpu-prof-dir', '/tmp/p', '--heap-prof-interval=4096', '--enable-source-maps']);
    expect(threadExecArgv([])).toEqual([]);
  });

  it('works when the app runs under tsx', async () => {
    const script = join(dir, 'under-tsx.mts');
    const poolUrl = pathToFileURL(fileURLToPath(new URL('../../src/inference/pool.ts', import.meta.url))).href;
    const fixturesUrl = pathToFileURL(fileURLToPath(new URL('./modelFixtures.ts', import.meta.url))).href;
    writeFileSync(
      script,
      `import { createInferencePool } from ${JSON.stringify(poolUrl)};
import { csvPart, removeModels, task } from ${JSON.stringify(fixturesUrl)};
const pool = createInferencePool({ threads: 1 });
const r = await pool.run(task([csvPart(['a,1,2,3,4', 'b,x,2,3,4'])]));
await pool.close();
removeModels();
console.log(JSON.stringify(r.parts.map((p) => [p.succeeded, p.failed])));
`,
    );
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const { stdout } = await promisify(execFile)(tsx, [script], { cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual([[1, 1]]);
  });
});

describe('small tasks of a fast model on the calling thread (INLINE_INFERENCE_MAX_MS)', () => {
  const inlinePool = createInferencePool({ threads: 1, inlineMaxMs: 50 });
  afterAll(() => inlinePool.close());
  const one = (k: number, extra = {}) => task([jsonPart([{ id: `r${k}`, f1: k, f2: 1, f3: 2, f4: 3 }])], { modelKey: 'classifier@inline', ...extra });

  it('runs a model on its threads until they have timed it, then its small tasks here, with the same answers', async () => {
    const first = [];
    for (let k = 0; k < 3; k++) first.push(await inlinePool.run(one(k)));
    expect(first.every((r) => r.thread !== 0)).toBe(true);
    const here = await inlinePool.run(one(7));
    expect(here.thread).toBe(0);
    const [row] = readRows(here.parts[0]);
    const [expected] = await directProbabilities(classifierPath, [[7, 1, 2, 3]]);
    expect(row.passthrough).toEqual(['r7']);
    expect(row.scores!.map(Math.fround)).toEqual(Array.from(expected));
  });

  it('keeps large tasks, CUDA, evaluation and compare tasks, and models it has not timed on the threads', async () => {
    const big = task([jsonPart(Array.from({ length: 65 }, (_, k) => ({ id: `b${k}`, f1: k, f2: 0, f3: 0, f4: 0 })))], { modelKey: 'classifier@inline' });
    expect((await inlinePool.run(big)).thread).not.toBe(0);
    expect((await inlinePool.run(one(1, { executionProvider: 'cuda' }))).thread).not.toBe(0);
    expect((await inlinePool.run(one(1, { labelColumn: 'f4' }))).thread).not.toBe(0);
    expect((await inlinePool.run(one(1, { modelKey: 'classifier@untimed' }))).thread).not.toBe(0);
  });

  it('never runs here when its threads time the model as slower than the limit, nor when the limit is 0', async () => {
    const strict = createInferencePool({ threads: 1, inlineMaxMs: 0.000001 });
    const off = createInferencePool({ threads: 1, inlineMaxMs: 0 });
    try {
      for (const p of [strict, off]) {
        const threads = [];
        for (let k = 0; k < 5; k++) threads.push((await p.run(one(k))).thread);
        expect(threads.includes(0)).toBe(false);
      }
    } finally {
      await Promise.all([strict.close(), off.close()]);
    }
  });

  it('a bad record gets the row error here that a thread gives it', async () => {
    const off = createInferencePool({ threads: 1, inlineMaxMs: 0 });
    try {
      const bad = () => task([jsonPart([{ id: 'ok', f1: 1, f2: 2, f3: 3, f4: 4 }, { id: 'bad', f1: 'abc', f2: 2, f3: 3, f4: 4 }])], { modelKey: 'classifier@inline' });
      const [here, there] = [await inlinePool.run(bad()), await off.run(bad())];
      expect(here.thread).toBe(0);
      expect(there.thread).not.toBe(0);
      expect(here.parts[0]).toMatchObject({ succeeded: 1, failed: 1 });
      expect(readRows(here.parts[0])).toEqual(readRows(there.parts[0]));
      expect(here.parts[0].errors).toEqual(there.parts[0].errors);
    } finally {
      await off.close();
    }
  });
});
