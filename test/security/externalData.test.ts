import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { scrubOrtMessage } from '../../src/inference/ortMessage.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { externalDataModel, hostileSignature } from '../fixtures/hostileModels.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { closeWorkersInProcess, startWorkerInProcess } from '../helpers/worker.js';

// Issue 12 item 2: a model whose initializer keeps its data EXTERNALly made onnxruntime read files
// of the api host (`location="package.json"` registered with 201), and its errors quoted sizes,
// directories and absolute paths; a worker's job error carried its model cache path.

let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let c: ReturnType<typeof client>;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startInProcessApi(env.config);
  c = client(api.url, (await createKey(env.pool, 'mallory')).key);
});
afterAll(async () => {
  await closeWorkersInProcess();
  await api?.close();
  await env?.close();
});

describe('external data', () => {
  for (const location of ['package.json', '.env', '/etc/passwd', '../../../etc/hostname', path.join(process.cwd(), 'package.json')]) {
    it(`refuses an initializer stored at "${location}" with 422 external_data_not_supported, naming no server path`, async () => {
      const res = await c.registerModel('ext', externalDataModel(location), hostileSignature);
      const text = await res.text();
      expect(res.status, text).toBe(422);
      expect(JSON.parse(text).code).toBe('external_data_not_supported');
      // The tenant's own location string aside, nothing of this host: not its working directory.
      expect(text.replaceAll(location, '')).not.toContain(process.cwd());
      expect((await c.get('/v1/models/ext')).status).toBe(404);
    });
  }
});

describe('no server path in what a tenant reads', () => {
  it('onnxruntime messages lose absolute paths and their source locations', () => {
    const ort =
      "Exception during initialization: /onnxruntime_src/onnxruntime/core/optimizer/initializer.cc:44 onnxruntime::Initializer::Initializer(const onnx::TensorProto&, const std::filesystem::__cxx11::path&) !model_path.empty() was false.";
    expect(scrubOrtMessage(ort)).toBe('Exception during initialization: !model_path.empty() was false.');
    const ext = 'Error: tensorprotoutils.cc:461 ValidateExternalDataPathFromDir External data path does not exist: "/srv/sluice/.env"';
    expect(scrubOrtMessage(ext)).toBe('Error: External data path does not exist: ".env"');
    expect(scrubOrtMessage("Load model from /var/cache/m/3-ab.onnx failed", { '/var/cache/m/3-ab.onnx': 'the model file' })).toBe('Load model from the model file failed');
    expect(scrubOrtMessage('see https://onnx.ai/docs and a/b')).toBe('see https://onnx.ai/docs and a/b');
  });

  it('a model the worker cannot load fails its job with model_load_failed and no path of the worker', async () => {
    expect((await c.registerModel('fine', linearRegression([1, 2], 0), { columns: ['a', 'b'], task: 'regression' })).status).toBe(201);
    // The cache dir turns into a plain file after the worker checked it at start (a volume
    // swapped under it): writing the model there fails with ENOTDIR or EEXIST, naming the path.
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-cache-'));
    const cacheDir = path.join(dir, 'models');
    await startWorkerInProcess(env.env, { INFERENCE_THREADS: '1', WORKER_QUEUES: 'predict', MODEL_CACHE_DIR: cacheDir });
    rmSync(cacheDir, { recursive: true, force: true });
    writeFileSync(cacheDir, '');
    const res = await c.postCsv('/v1/jobs?model=fine', 'a,b\n1,2\n');
    expect(res.status).toBe(202);
    const job = await c.waitForJob((await res.json()).id);
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('model_load_failed');
    const everything = JSON.stringify(job) + (await (await c.get(`/v1/jobs/${job.id}/results`)).text());
    expect(everything).toContain('the model cache');
    for (const leak of [dir, cacheDir, process.cwd(), tmpdir() + '/']) expect(everything).not.toContain(leak);
  });
});
