import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { startMetricsServer } from '../../src/metrics/metricsServer.js';
import { configureMetrics, modelLabels, scrape as scrapeRegistry, series } from '../../src/metrics/series.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { referencedSeries } from '../helpers/monitoring.js';
import { killAll, startApi, startWorker } from '../helpers/processes.js';

// Issue 17's metrics, scraped from real processes: an api and a worker run a CSV job (with a
// webhook) and a single prediction, then both /metrics endpoints must tell the same story as the
// jobs themselves, pass Prometheus's own lint (promtool check metrics), and hold every series the
// Grafana dashboard and the alert rules read (deploy/monitoring, test/helpers/monitoring.ts).

let env: TestEnv;
let api: Awaited<ReturnType<typeof startApi>>;
let worker: Awaited<ReturnType<typeof startWorker>>;
let c: ReturnType<typeof client>;
let hooks: Server;
let hookUrl: string;
const delivered: unknown[] = [];
let deliveredOne: Promise<void>;

const sig = { columns: ['a', 'b'], task: 'regression', passthrough: ['id'] };
const ROWS = 250;
const BAD_ROWS = [40, 180]; // 1-based rows with text where a number belongs

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '100' });
  let resolveDelivered!: () => void;
  deliveredOne = new Promise((r) => (resolveDelivered = r));
  hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (b) => (body += b));
    req.on('end', () => {
      delivered.push(JSON.parse(body));
      res.writeHead(204).end();
      resolveDelivered();
    });
  });
  hooks.listen(0, '127.0.0.1');
  await once(hooks, 'listening');
  hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
  [api, worker] = await Promise.all([startApi(env.env), startWorker(env.env, { INFERENCE_THREADS: '1' })]);
  c = client(api.url, (await createKey(env.pool, 'acme')).key);
  expect((await c.registerModel('cars', linearRegression([1, 2], 0), sig)).status).toBe(201);
}, 90_000);

afterAll(async () => {
  await Promise.allSettled([api?.stop(), worker?.stop()]);
  await killAll();
  hooks?.close();
  await env?.close();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Scrape {
  text: string;
  samples: Sample[];
  /** Metric families (# TYPE lines): name → type. */
  types: Map<string, string>;
}

async function scrape(port: number | null): Promise<Scrape> {
  expect(port).toBeTypeOf('number');
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = await res.text();
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) types.set(type[1], type[2]);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`unreadable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { text, samples, types };
}

/** The sum of a series' samples whose labels include `where`. */
function total(s: Scrape, name: string, where: Record<string, string> = {}): number {
  return s.samples.filter((x) => x.name === name && Object.entries(where).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);
}

/** `promtool check metrics` on a scrape: what it says (nothing when the exposition is clean). */
async function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  p.stdout.on('data', (b) => (output += b));
  p.stderr.on('data', (b) => (output += b));
  p.stdin.end(text);
  const [code] = await once(p, 'exit');
  return { code, output };
}

describe('metrics from real api and worker processes', () => {
  let job: Record<string, any>;
  let prediction: Record<string, any>;

  it('runs a CSV job with a webhook and a single prediction', async () => {
    const rows = Array.from({ length: ROWS }, (_, i) => (BAD_ROWS.includes(i + 1) ? `${i + 1},text,2` : `${i + 1},${i},2`));
    const res = await c.postCsv(`/v1/jobs?model=cars&callback_url=${encodeURIComponent(hookUrl)}`, `id,a,b\n${rows.join('\n')}\n`);
    expect(res.status).toBe(202);
    job = await c.waitForJob((await res.json()).id);
    expect(job.status).toBe('completed');
    expect(job.rows).toMatchObject({ total: ROWS, succeeded: ROWS - BAD_ROWS.length, failed: BAD_ROWS.length });
    const single = await c.postJson('/v1/predictions', { model: 'cars', inputs: [{ a: 1, b: 2 }], wait: 10 });
    expect(single.status).toBe(200);
    prediction = await single.json();
    await deliveredOne;
    expect(delivered).toContainEqual(expect.objectContaining({ type: 'job.completed' }));
  });

  it('the worker counts every row it scored, by outcome, and times each stage', async () => {
    const w = await scrape(worker.metricsPort);
    // The CSV job's rows and the prediction's one record: nothing counted twice, nothing missed.
    expect(total(w, 'sluice_rows_scored_total', { outcome: 'ok' })).toBe(job.rows.succeeded + prediction.predictions.length);
    expect(total(w, 'sluice_rows_scored_total', { outcome: 'error' })).toBe(job.rows.failed);
    expect(total(w, 'sluice_chunks_processed_total', { queue: 'predict', outcome: 'done' })).toBe(Math.ceil(ROWS / 100));
    expect(total(w, 'sluice_chunks_processed_total', { queue: 'predict-interactive', outcome: 'done' })).toBe(1);
    for (const stage of ['load', 'parse_preprocess', 'inference', 'encode', 'commit']) {
      expect(total(w, 'sluice_worker_stage_duration_seconds_count', { stage, queue: 'predict' }), stage).toBeGreaterThan(0);
    }
    // A prediction's records may ride in the queue (no load), but it is always parsed, run, encoded and committed.
    for (const stage of ['parse_preprocess', 'inference', 'encode', 'commit']) {
      expect(total(w, 'sluice_worker_stage_duration_seconds_count', { stage, queue: 'predict-interactive' }), stage).toBeGreaterThan(0);
    }
    expect(total(w, 'sluice_inference_batch_rows_sum')).toBe(ROWS - BAD_ROWS.length + 1);
    expect(total(w, 'sluice_model_cache_lookups_total', { result: 'miss' })).toBe(1);
    expect(total(w, 'sluice_model_cache_lookups_total', { result: 'hit' })).toBeGreaterThan(0);
    expect(total(w, 'sluice_model_load_duration_seconds_count')).toBe(1);
    expect(total(w, 'sluice_inference_threads')).toBe(1);
    expect(total(w, 'sluice_inference_threads_busy')).toBe(0);
    expect(total(w, 'sluice_webhook_attempts_total', { outcome: 'success' })).toBe(1);
    expect(total(w, 'sluice_webhook_deliveries_total', { result: 'delivered' })).toBe(1);
    expect(total(w, 'sluice_webhook_attempt_duration_seconds_count', { outcome: 'success' })).toBe(1);
    expect(total(w, 'sluice_ready')).toBe(1);
    expect(total(w, 'sluice_build_info', { process: 'worker' })).toBe(1);
    expect(w.types.get('process_resident_memory_bytes')).toBe('gauge');
    expect(w.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
  });

  it('the api times requests by route template and counts submissions; each end is counted once, by whichever process committed it', async () => {
    const a = await scrape(api.metricsPort);
    const w = await scrape(worker.metricsPort);
    expect(total(a, 'sluice_jobs_submitted_total', { source: 'csv' })).toBe(1);
    expect(total(a, 'sluice_jobs_submitted_total', { source: 'single' })).toBe(1);
    expect(total(a, 'sluice_single_prediction_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(total(a, 'sluice_http_request_duration_seconds_count', { route: '/v1/jobs', method: 'POST', status: '202' })).toBe(1);
    expect(total(a, 'sluice_http_request_duration_seconds_count', { route: '/v1/predictions', method: 'POST', status: '200' })).toBe(1);
    expect(total(a, 'sluice_http_request_duration_seconds_count', { route: '/v1/jobs/:id', method: 'GET' })).toBeGreaterThan(0);
    expect(a.samples.some((s) => s.name.startsWith('sluice_http_request_duration_seconds') && /[0-9a-f]{8}-/.test(s.labels.route ?? ''))).toBe(false);
    expect(total(a, 'sluice_http_request_bytes_total')).toBeGreaterThan(ROWS * 6);
    expect(total(a, 'sluice_http_uploads_in_progress')).toBe(0);
    for (const status of ['completed', 'failed', 'cancelled']) {
      expect(total(a, 'sluice_jobs_finished_total', { status }) + total(w, 'sluice_jobs_finished_total', { status }), status).toBe(status === 'completed' ? 2 : 0);
    }
    expect(total(a, 'sluice_job_duration_seconds_count', { status: 'completed' }) + total(w, 'sluice_job_duration_seconds_count', { status: 'completed' })).toBe(2);
    expect(total(a, 'sluice_pg_pool_connections', { state: 'idle' }) + total(a, 'sluice_pg_pool_connections', { state: 'in_use' })).toBeGreaterThan(0);
    expect(a.types.get('sluice_pg_pool_waiting_requests')).toBe('gauge');
    expect(a.types.get('sluice_redis_reconnects_total')).toBe('counter');
    expect([0, 1]).toContain(total(a, 'sluice_redis_persistence_enabled'));
    expect(total(a, 'sluice_ready')).toBe(1);
    expect(total(a, 'sluice_build_info', { process: 'api' })).toBe(1);
  });

  it('the queue gauges are read at scrape time and are back to 0 once the work is done', async () => {
    // The webhook's BullMQ job completes just after the receiver answered: polled, not slept on.
    await vi.waitFor(async () => {
      const a = await scrape(api.metricsPort);
      for (const queue of ['predict', 'predict-interactive', 'webhooks']) {
        for (const state of ['waiting', 'active', 'delayed', 'failed']) {
          expect(a.samples.find((s) => s.name === 'sluice_queue_jobs' && s.labels.queue === queue && s.labels.state === state)?.value, `${queue} ${state}`).toBe(0);
        }
        expect(total(a, 'sluice_queue_oldest_waiting_age_seconds', { queue })).toBe(0);
      }
    }, { timeout: 10_000, interval: 100 });
  });

  it('every series passes promtool check metrics', async () => {
    for (const port of [api.metricsPort, worker.metricsPort]) {
      const { code, output } = await promtoolCheck((await scrape(port)).text);
      expect(output).toBe('');
      expect(code).toBe(0);
    }
  });

  it('every series the Grafana dashboard and the alert rules read appears in a scrape', async () => {
    const families = new Set([...(await scrape(api.metricsPort)).types.keys(), ...(await scrape(worker.metricsPort)).types.keys()]);
    const referenced = referencedSeries();
    expect(referenced.length).toBeGreaterThan(0);
    expect(referenced.filter((n) => !families.has(n))).toEqual([]);
  });

  it('the worker answers /healthz and /readyz (Postgres, Redis, inference threads, model cache) on its metrics port', async () => {
    const health = await fetch(`http://127.0.0.1:${worker.metricsPort}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`http://127.0.0.1:${worker.metricsPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok', inference_threads: 'ok', model_cache: 'ok' } });
    // The api's metrics port serves metrics only: its probes are on its public port.
    expect((await fetch(`http://127.0.0.1:${api.metricsPort}/readyz`)).status).toBe(404);
  });

  it('api log lines carry the request id, and a refused request its problem code', async () => {
    const res = await c.postJson('/v1/predictions', { model: 'no-such-model', inputs: [{ a: 1, b: 2 }] });
    expect(res.status).toBe(404);
    const id = res.headers.get('x-request-id');
    const line = await vi.waitFor(() => {
      const l = api.logs.find((x) => x.request_id === id && x.msg === 'request completed');
      if (!l) throw new Error('no access line yet');
      return l;
    });
    expect(line).toMatchObject({ request_id: id, code: 'model_not_found' });
  });

  it('the worker logs the job start and end with the job, tenant, model and version, and the end with rows, failures, duration and rate', () => {
    const mine = worker.logs.filter((l) => l.job_id === job.id && (l.msg === 'job started' || l.msg === 'job finished'));
    const end = [...mine, ...api.logs.filter((l) => l.job_id === job.id && l.msg === 'job finished')].filter((l) => l.msg === 'job finished');
    expect(mine.filter((l) => l.msg === 'job started')).toHaveLength(1);
    for (const l of mine) expect(l).toMatchObject({ model: 'cars', version: 1, tenant: expect.any(String) });
    // The end is logged once, by whichever process committed it (the worker, or the api when the upload completed after the last chunk).
    expect(end).toHaveLength(1);
    expect(end[0]).toMatchObject({ status: 'completed', rows: ROWS, failed: BAD_ROWS.length, duration_ms: expect.any(Number), rows_per_second: expect.any(Number) });
  });
});

describe('the metrics listener', () => {
  it('answers /readyz 503 naming the check that failed, and `stopping` after SIGTERM', async () => {
    const m = await startMetricsServer({ host: '127.0.0.1', port: 0, readiness: { postgres: async () => {}, model_cache: async () => { throw new Error('MODEL_CACHE_DIR is not writable (EROFS)'); } } });
    try {
      const res = await fetch(`http://127.0.0.1:${m.port}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'unavailable', checks: { postgres: 'ok', model_cache: 'MODEL_CACHE_DIR is not writable (EROFS)' } });
      m.stopping();
      const after = await fetch(`http://127.0.0.1:${m.port}/readyz`);
      expect(after.status).toBe(503);
      expect((await after.json()).status).toBe('stopping');
      expect((await fetch(`http://127.0.0.1:${m.port}/nothing`)).status).toBe(404);
    } finally {
      await m.close();
    }
  });

  it('METRICS_ENABLED=false: no listener, and the process says so (metricsPort null)', async () => {
    const off = await startApi(env.env, { METRICS_ENABLED: 'false' });
    try {
      expect(off.metricsPort).toBeNull();
      expect((await fetch(`${off.url}/healthz`)).status).toBe(200);
    } finally {
      await off.stop();
    }
  });
});

describe('model labels', () => {
  it('only with METRICS_MODEL_LABELS=true, and past METRICS_MODEL_LABEL_LIMIT pairs they read `other`', async () => {
    configureMetrics({ enabled: true, role: 'worker', modelLabels: false, modelLabelLimit: 2 });
    expect(modelLabels('cars', 1)).toEqual({});
    configureMetrics({ enabled: true, role: 'worker', modelLabels: true, modelLabelLimit: 2 });
    expect(modelLabels('cars', 1)).toEqual({ model: 'cars', version: '1' });
    expect(modelLabels('cars', 2)).toEqual({ model: 'cars', version: '2' });
    expect(modelLabels('tenant-secret-model', 1)).toEqual({ model: 'other', version: 'other' });
    expect(modelLabels('cars', 1)).toEqual({ model: 'cars', version: '1' });
    series.rowsScored.inc({ outcome: 'ok', ...modelLabels('cars', 1) }, 3);
    series.rowsScored.inc({ outcome: 'ok', ...modelLabels('penguins', 7) }, 2);
    const { body } = await scrapeRegistry();
    expect(body).toContain('sluice_rows_scored_total{outcome="ok",model="cars",version="1"} 3');
    expect(body).toContain('sluice_rows_scored_total{outcome="ok",model="other",version="other"} 2');
    // Disabled: nothing recorded, nothing to scrape.
    configureMetrics({ enabled: false, role: 'worker', modelLabels: true, modelLabelLimit: 2 });
    series.rowsScored.inc({ outcome: 'ok' }, 1);
    expect((await scrapeRegistry()).body).toBe('');
  });
});
