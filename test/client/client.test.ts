import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { ApiError, AuthenticationError, ConnectionError, jobProgress, NotFoundError, RateLimitError, Sluice, type RetryInfo, type UploadProgress } from '../../src/client/index.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { apiForTenant, type ApiForTenant } from '../helpers/api.js';
import { freePort } from '../helpers/processes.js';
import { startWorkerInProcess, type InProcessWorker } from '../helpers/worker.js';

// The typed client against a real api (in this process) and a real worker: typed errors carrying
// the problem code, retries that honour Retry-After, a streamed upload that reports its bytes, the
// wait for a job's end and its results as rows.

const SIG = { columns: ['a', 'b'], task: 'regression', passthrough: ['id'] };
let t: ApiForTenant;
let worker: InProcessWorker;
let sluice: Sluice;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sluice-client-'));
  t = await apiForTenant({ CHUNK_ROWS: '5000' });
  worker = await startWorkerInProcess(t.env.env, { INFERENCE_THREADS: '1' });
  sluice = new Sluice({ baseUrl: t.api.url, apiKey: (await createKey(t.env.pool, 'acme')).key });
  await sluice.models.push('lin', { model: linearRegression([2, -1], 0.5), signature: SIG });
});
afterAll(async () => {
  await worker?.close();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('typed errors', () => {
  it('a problem becomes the class for its status, carrying code, status, detail and request id', async () => {
    const id = '0b7d3c2e-5f4a-4c1b-9e8d-2a6f1c3b4d5e';
    const err = await sluice.jobs.get(id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, code: 'job_not_found' });
    expect((err as ApiError).message).toBe(`There is no job ${id}.`);
    expect((err as ApiError).requestId).toBeTruthy();

    const badKey = new Sluice({ baseUrl: t.api.url, apiKey: 'sk_live_nope' });
    const auth = await badKey.models.get('lin').catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(AuthenticationError);
    expect(auth).toMatchObject({ status: 401, code: 'unauthorized' });

    const invalid = await sluice.jobs.submit('a,b\n1,2\n', { model: 'no-such-model' }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('no server: ConnectionError after the retries, naming the address', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const retries: RetryInfo[] = [];
    const c = new Sluice({ baseUrl: url, apiKey: 'k', maxRetries: 2, onRetry: (r) => retries.push(r) });
    const err = await c.jobs.get('0b7d3c2e-5f4a-4c1b-9e8d-2a6f1c3b4d5e').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toBe(`Cannot reach Sluice at ${url}: ECONNREFUSED`);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
  });
});

describe('jobs', () => {
  it('a file streams up with progress, the wait sees it to the end, the rows come back in order', async () => {
    const n = 60_000;
    let csv = 'id,a,b\n';
    for (let i = 1; i <= n; i++) csv += `k${i},${i % 13},${i % 7}\n`;
    const file = path.join(dir, 'rows.csv');
    writeFileSync(file, csv);
    const seen: UploadProgress[] = [];
    const job = await sluice.jobs.submitFile(file, { model: 'lin', onProgress: (p) => seen.push(p) });
    expect(job).toMatchObject({ object: 'job', model: { name: 'lin', version: 1 } });
    // Reported as the body was read: many steps, never backwards, ending at the file's size.
    const size = Buffer.byteLength(csv);
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.every((p, i) => p.totalBytes === size && (i === 0 || p.sentBytes >= seen[i - 1].sentBytes))).toBe(true);
    expect(seen.at(-1)!.sentBytes).toBe(size);

    // Over the api's own events route (GET /v1/jobs/{id}/events): SSE events, not polls.
    const updates: { event: string; done: number }[] = [];
    const done = await sluice.jobs.wait(job.id, { onUpdate: (j, event) => updates.push({ event, done: j.rows.succeeded + j.rows.failed }) });
    expect(done).toMatchObject({ id: job.id, status: 'completed', rows: { total: n, succeeded: n, failed: 0 } });
    expect(updates.at(-1)).toEqual({ event: 'completed', done: n });
    expect(updates.every((u) => ['status', 'progress', 'completed'].includes(u.event))).toBe(true);
    expect(updates.every((u, k) => k === 0 || u.done >= updates[k - 1].done)).toBe(true);
    expect(jobProgress(done)).toMatchObject({ fraction: 1, rowsDone: n, rowsTotal: n, etaSeconds: 0 });

    let i = 0;
    for await (const r of sluice.jobs.rows(job.id)) {
      i++;
      if (r.row !== i || r.passthrough?.id !== `k${i}`) throw new Error(`row ${i}: ${JSON.stringify(r)}`);
      if (i % 9973 === 0) expect(r.prediction as number).toBeCloseTo(2 * (i % 13) - (i % 7) + 0.5, 4);
    }
    expect(i).toBe(n);
  });

  it('the same idempotency key returns the first job; lists page with for await', async () => {
    const a = await sluice.jobs.submit('id,a,b\nq,1,1\n', { model: 'lin', idempotency_key: 'same-one' });
    const b = await sluice.jobs.submit('id,a,b\nq,1,1\n', { model: 'lin', idempotency_key: 'same-one' });
    expect(b.id).toBe(a.id);
    const ids: string[] = [];
    for await (const j of sluice.jobs.list({ limit: 1 })) ids.push(j.id); // one job a page
    expect(ids.length).toBe(2);
    expect(ids[0]).toBe(a.id);
  });
});

describe('retries', () => {
  let limited: ApiForTenant;
  let key: string;
  beforeAll(async () => {
    limited = await apiForTenant({ RATE_LIMIT_PER_SECOND: '2', TENANT_RATE_LIMIT_PER_SECOND: '1000' });
    key = (await createKey(limited.env.pool, 'acme')).key;
  });
  afterAll(() => limited?.close());

  it('429: waits what Retry-After says and tries again until it goes through', async () => {
    const retries: RetryInfo[] = [];
    const c = new Sluice({ baseUrl: limited.api.url, apiKey: key, maxRetries: 5, onRetry: (r) => retries.push(r) });
    const started = Date.now();
    const pages = await Promise.all(Array.from({ length: 6 }, () => c.jobs.page({ limit: 1 })));
    expect(pages.every((p) => Array.isArray(p.data))).toBe(true);
    const on429 = retries.filter((r) => r.status === 429);
    expect(on429.length).toBeGreaterThanOrEqual(4); // 2 a second: 4 of the 6 were refused at first
    // The api says Retry-After: 1 (whole seconds); backoff alone would have waited ≤ 500 ms.
    expect(on429.every((r) => r.delayMs === 1000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('with no retries left, the 429 is a RateLimitError with its code and Retry-After', async () => {
    const c = new Sluice({ baseUrl: limited.api.url, apiKey: key, maxRetries: 0 });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => c.jobs.page({ limit: 1 })));
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as RateLimitError);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    for (const e of refused) {
      expect(e).toBeInstanceOf(RateLimitError);
      expect(e).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(e.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(e.message).toMatch(/RATE_LIMIT_PER_SECOND/);
    }
  });
});
