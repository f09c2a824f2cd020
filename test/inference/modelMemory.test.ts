// The inference pool's memory guard (pool.ts MemoryGuard, issue 12 item 1), on real threads: a
// model whose run grows the process's RSS past the limit fails with ModelMemoryError, is refused
// at once from then on, and the memory is back once its task has returned (no CPU arena).
import { afterAll, describe, expect, it } from 'vitest';
import { ModelMemoryError, createInferencePool } from '../../src/inference/pool.js';
import { SignatureSchema } from '../../src/models/signature.js';
import type { RunPlan } from '../../src/models/types.js';
import { memoryBombModel } from '../fixtures/hostileModels.js';
import { csvPart, readRows, removeModels, task, writeModel } from './modelFixtures.js';

const pool = createInferencePool({ threads: 1, memoryLimitMb: 512 });
afterAll(async () => {
  await pool.close();
  removeModels();
});

// 1 GB of floats: past a 512 MB limit, and quick.
const bombPath = writeModel('memory-bomb', memoryBombModel(10000, 25000));
const bombPlan: RunPlan = { input: 'x', inputType: 'float32', inputShape: [-1, 2], maxBatch: null, value: 'y' };
const bombSignature = SignatureSchema.parse({ task: 'regression', input: 'x', columns: ['a', 'b'], output: 'y' });
const bombTask = () => task([csvPart(['1,2'], ['a', 'b'])], { modelPath: bombPath, modelKey: 'bomb@1', plan: bombPlan, signature: bombSignature });
const rssMb = () => process.memoryUsage.rss() / 1024 / 1024;

describe('memory guard', () => {
  it('fails a model that grows RSS past the limit, refuses it from then on, and leaves the memory returned', async () => {
    // Warm: the thread has loaded onnxruntime and a session.
    expect(readRows((await pool.run(task([csvPart(['r,1,2,3,4'])]))).parts[0])[0].error).toBeNull();
    const start = rssMb();
    const err = await pool.run(bombTask()).catch((e) => e);
    expect(err).toBeInstanceOf(ModelMemoryError);
    expect(err).toMatchObject({ code: 'model_memory_exceeded', unhealthy: true, stage: 'run' });
    expect(err.message).toMatch(/more than the 512 MB/);
    expect(rssMb() - start).toBeLessThan(100);

    const t0 = performance.now();
    await expect(pool.run(bombTask())).rejects.toMatchObject({ code: 'model_memory_exceeded', unhealthy: true });
    expect(performance.now() - t0).toBeLessThan(50);
    // Other models are unaffected.
    expect(readRows((await pool.run(task([csvPart(['r,1,2,3,4'])]))).parts[0])[0].error).toBeNull();
  }, 60_000);
});
