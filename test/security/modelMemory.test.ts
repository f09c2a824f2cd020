import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { hostileSignature, memoryBombModel } from '../fixtures/hostileModels.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { killAll, startWorker, type Proc } from '../helpers/processes.js';

// Issue 12 item 1: a tenant's model must not control the worker's memory. The memory bomb
// computes a [20000, 25000] float allocation (2 GB) from its input's shape at run time; on a
// 1-row CSV it used to take a worker from ~150 MB to 2.2 GB for good. Now its job fails with
// model_memory_exceeded, the model is refused from then on, and the worker's RSS comes back.
// A real worker process, so the RSS read is that worker's alone.

let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let c: ReturnType<typeof client>;
let worker: Proc;

/** The process's resident set, in MB, as the kernel counts it. */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];
  return Number(kb) / 1024;
}

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '100', CHUNK_ATTEMPTS: '3' });
  api = await startInProcessApi(env.config);
  c = client(api.url, (await createKey(env.pool, 'mallory')).key);
  expect((await c.registerModel('bomb', memoryBombModel(), hostileSignature)).status).toBe(201);
  expect((await c.registerModel('fine', linearRegression([1, 2], 0), { columns: ['a', 'b'], task: 'regression' })).status).toBe(201);
  worker = await startWorker(env.env, { INFERENCE_THREADS: '1', WORKER_QUEUES: 'predict', MODEL_MEMORY_LIMIT_MB: '1024' });
}, 60_000);
afterAll(async () => {
  await killAll();
  await api?.close();
  await env?.close();
});

async function score(model: string, csv: string) {
  const res = await c.postCsv(`/v1/jobs?model=${model}`, csv);
  expect(res.status).toBe(202);
  return c.waitForJob((await res.json()).id, 60_000);
}

describe('a model that allocates from its input', () => {
  it('fails with model_memory_exceeded, is refused from then on, and the worker RSS returns within 100 MB of its start', async () => {
    // Warm up: a session loaded and a job scored, so the start is the worker's working baseline.
    expect((await score('fine', 'a,b\n1,2\n')).status).toBe('completed');
    const start = rssMb(worker.pid);

    const bombed = await score('bomb', 'a,b\n1,2\n');
    expect(bombed.status).toBe('failed');
    expect(bombed.error.code).toBe('model_memory_exceeded');
    expect(bombed.error.message).toMatch(/more than the 1024 MB/);
    expect(bombed.rows).toMatchObject({ total: 1, succeeded: 0, failed: 1 });

    // Refused without running again: fast, and the same code.
    const t0 = Date.now();
    const again = await score('bomb', 'a,b\n3,4\n');
    expect(again.error.code).toBe('model_memory_exceeded');
    expect(Date.now() - t0).toBeLessThan(5000);

    // Other tenants' models still score on the same worker, which never restarted.
    expect((await score('fine', 'a,b\n1,2\n')).status).toBe('completed');
    expect(worker.child.exitCode).toBeNull();
    const after = rssMb(worker.pid);
    expect(after - start, `worker RSS ${start.toFixed(0)} MB → ${after.toFixed(0)} MB`).toBeLessThan(100);
  }, 120_000);
});
