import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

// Every Prometheus series Sluice exports (docs/observability.md, "Metrics"; the names are a contract
// with deploy/monitoring/, listed in the plan's METRICS.md). One Registry per process, filled by
// configureMetrics at start-up with the series of that process's role; until then, and for good
// when METRICS_ENABLED=false, every instrument is a no-op, so code that records pays nothing and
// needs no `if`. Nothing here imports the database or the queue: scrape-time readings of those are
// handed in as functions (collectors.ts).

export type ProcessRole = 'api' | 'worker';

export interface MetricsOptions {
  enabled: boolean;
  role: ProcessRole;
  /** METRICS_MODEL_LABELS: model and version labels on the per-model series. */
  modelLabels: boolean;
  /** METRICS_MODEL_LABEL_LIMIT: distinct model/version pairs labelled per process; later ones read `other`. */
  modelLabelLimit: number;
}

/** The queues Sluice runs (queue label values). */
export const QUEUE_LABELS = ['predict', 'predict-interactive'] as const;
export const STAGES = ['load', 'parse_preprocess', 'inference', 'encode', 'commit'] as const;
export type Stage = (typeof STAGES)[number];

// Seconds. Chunks take ms to seconds per stage; HTTP requests from sub-ms to minutes (uploads).
const STAGE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const SINGLE_BUCKETS = [0.001, 0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];
const BATCH_ROW_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

function noop(): never {
  const self: Record<string, unknown> = {};
  for (const k of ['inc', 'dec', 'set', 'observe', 'reset', 'remove', 'zero']) self[k] = () => {};
  self.startTimer = () => () => 0;
  self.labels = () => self;
  return self as never;
}

function buildInfoVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The instruments, all present whatever the role (the other role's are no-ops). */
function createSeries(registry: Registry | null, opts: MetricsOptions) {
  const registers = registry ? [registry] : [];
  const on = (roles: ProcessRole[]) => registry !== null && roles.includes(opts.role);
  const model = opts.modelLabels ? ['model', 'version'] : [];
  const both: ProcessRole[] = ['api', 'worker'];
  const counter = <T extends string>(roles: ProcessRole[], name: string, help: string, labelNames: T[] = []): Counter<T> =>
    on(roles) ? new Counter({ name, help, labelNames, registers }) : noop();
  const gauge = <T extends string>(roles: ProcessRole[], name: string, help: string, labelNames: T[] = []): Gauge<T> =>
    on(roles) ? new Gauge({ name, help, labelNames, registers }) : noop();
  const histogram = <T extends string>(roles: ProcessRole[], name: string, help: string, buckets: number[], labelNames: T[] = []): Histogram<T> =>
    on(roles) ? new Histogram({ name, help, labelNames, buckets, registers }) : noop();

  return {
    enabled: registry !== null,
    buildInfo: gauge(both, 'sluice_build_info', 'Always 1; its labels name the release and the process role', ['version', 'process']),
    ready: gauge(both, 'sluice_ready', '1 when the process last answered ready (/readyz), 0 when it did not or is stopping'),

    // api
    httpDuration: histogram(['api'], 'sluice_http_request_duration_seconds', 'HTTP requests by route template, method and status, from arrival to the last byte of the answer', HTTP_BUCKETS, ['route', 'method', 'status']),
    uploadsInProgress: gauge(['api'], 'sluice_http_uploads_in_progress', 'Uploads (POST /v1/jobs, retries) being streamed into chunks now'),
    requestBytes: counter(['api'], 'sluice_http_request_bytes_total', 'Request body bytes received, as sent (before any decompression)'),
    jobsSubmitted: counter(['api'], 'sluice_jobs_submitted_total', 'Jobs created, by what carried their rows', ['source', ...model]),
    singlePrediction: histogram(['api'], 'sluice_single_prediction_duration_seconds', 'POST /v1/predictions with wait: arrival to answer (ok: predictions inline; timeout: 202 after the wait; error: a problem answer)', SINGLE_BUCKETS, ['outcome']),
    queueJobs: gauge(['api'], 'sluice_queue_jobs', 'BullMQ jobs per queue and state, read when scraped', ['queue', 'state']),
    queueOldestWaiting: gauge(['api'], 'sluice_queue_oldest_waiting_age_seconds', 'Age of the oldest job waiting in the queue (0 when none waits), read when scraped', ['queue']),
    redisPersistence: gauge(['api'], 'sluice_redis_persistence_enabled', '1 when Redis keeps its data on disk (AOF or RDB save rules), else 0; read when scraped'),

    // worker
    rowsScored: counter(['worker'], 'sluice_rows_scored_total', 'Rows whose results were committed, by outcome (error: the row has an error instead of a prediction)', ['outcome', ...model]),
    chunksProcessed: counter(['worker'], 'sluice_chunks_processed_total', 'Chunks by outcome: done (committed), retried (an attempt failed and will be retried), failed (its rows got errors, or BullMQ gave up)', ['queue', 'outcome']),
    stageDuration: histogram(['worker'], 'sluice_worker_stage_duration_seconds', 'Time per unit of work in each stage: load (chunks from Postgres), parse_preprocess, inference, encode (on the inference threads), commit', STAGE_BUCKETS, ['stage', 'queue']),
    batchRows: histogram(['worker'], 'sluice_inference_batch_rows', 'Rows per onnxruntime run', BATCH_ROW_BUCKETS),
    modelCacheLookups: counter(['worker'], 'sluice_model_cache_lookups_total', 'Model version lookups in the worker\'s model cache', ['result']),
    modelLoad: histogram(['worker'], 'sluice_model_load_duration_seconds', 'Fetching a model version from Postgres into the model cache directory', STAGE_BUCKETS),
    threads: gauge(['worker'], 'sluice_inference_threads', 'Inference threads of this worker'),
    threadsBusy: gauge(['worker'], 'sluice_inference_threads_busy', 'Inference threads running a task now'),
    reconcilerReenqueued: counter(['worker'], 'sluice_reconciler_reenqueued_total', 'Work Redis had lost that the reconciler put back, from Postgres', ['kind']),
    watchdogStalled: counter(['worker'], 'sluice_watchdog_stalled_jobs_total', 'Jobs the watchdog ended for making no progress (JOB_STALL_TIMEOUT_MS)'),
    retentionDeleted: counter(['worker'], 'sluice_retention_deleted_jobs_total', 'Finished jobs deleted by retention (RETENTION_TTL_HOURS)'),
    webhookAttempts: counter(['worker'], 'sluice_webhook_attempts_total', 'Webhook delivery attempts by outcome', ['outcome']),
    webhookDeliveries: counter(['worker'], 'sluice_webhook_deliveries_total', 'Webhook deliveries by result', ['result']),
    webhookAttemptSeconds: histogram(['worker'], 'sluice_webhook_attempt_duration_seconds', 'Time from the start of an attempt to the receiver answering (or giving up)', [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30], ['outcome']),

    // both
    jobsFinished: counter(both, 'sluice_jobs_finished_total', 'Jobs ended, by final status, counted by the process that committed the end', ['status', ...model]),
    jobDuration: histogram(both, 'sluice_job_duration_seconds', 'Jobs from creation to their end, by final status', JOB_BUCKETS, ['status', ...model]),
    pgPoolConnections: gauge(both, 'sluice_pg_pool_connections', 'Postgres pool connections by state', ['state']),
    pgPoolWaiting: gauge(both, 'sluice_pg_pool_waiting_requests', 'Queries waiting for a Postgres pool connection'),
    redisReconnects: counter(both, 'sluice_redis_reconnects_total', 'Redis reconnection attempts, by connection', ['connection']),
  };
}

export type Series = ReturnType<typeof createSeries>;

/**
 * The process's instruments. A live binding: configureMetrics replaces it, and every importer sees
 * the new value (import it, do not copy it into a variable at module load).
 */
export let series: Series = createSeries(null, { enabled: false, role: 'api', modelLabels: false, modelLabelLimit: 0 });
export let registry: Registry | null = null;

let modelPairs: { limit: number; seen: Set<string> } | null = null;
let scrapeHooks: (() => Promise<void> | void)[] = [];

/** Readings taken when Prometheus scrapes (queue depths, pool gauges): each runs before the text is rendered. */
export function beforeScrape(hook: () => Promise<void> | void): void {
  if (registry) scrapeHooks.push(hook);
}

/** The exposition text: the scrape-time readings first (a failing one leaves its series as its own catch set them). */
export async function scrape(): Promise<{ contentType: string; body: string }> {
  if (!registry) return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '' };
  await Promise.allSettled(scrapeHooks.map(async (h) => h()));
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/**
 * Sets up the process's registry and series (call once, at start-up, before anything records).
 * Disabled: everything stays a no-op and `registry` null (no listener is started).
 */
export function configureMetrics(opts: MetricsOptions): Registry | null {
  scrapeHooks = [];
  if (!opts.enabled) {
    registry = null;
    series = createSeries(null, opts);
    modelPairs = null;
    return null;
  }
  const reg = new Registry();
  collectDefaultMetrics({ register: reg });
  // Gauges named like counters, which Prometheus's lint (promtool check metrics) refuses; the same
  // counts stay available by type as nodejs_active_handles / _requests / _resources{type}.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) reg.removeSingleMetric(name);
  series = createSeries(reg, opts);
  registry = reg;
  modelPairs = opts.modelLabels ? { limit: opts.modelLabelLimit, seen: new Set() } : null;
  series.buildInfo.set({ version: buildInfoVersion(), process: opts.role }, 1);
  zeroKnownLabels(series, opts);
  return reg;
}

/** Known label values start at 0, so rates and alerts see the series before the first event. */
function zeroKnownLabels(s: Series, opts: MetricsOptions) {
  if (opts.role === 'worker') {
    for (const queue of QUEUE_LABELS) {
      for (const outcome of ['done', 'retried', 'failed']) s.chunksProcessed.inc({ queue, outcome }, 0);
      for (const stage of STAGES) s.stageDuration.zero({ stage, queue });
    }
    if (!opts.modelLabels) for (const outcome of ['ok', 'error']) s.rowsScored.inc({ outcome }, 0);
    for (const result of ['hit', 'miss']) s.modelCacheLookups.inc({ result }, 0);
    for (const kind of ['chunk', 'delivery']) s.reconcilerReenqueued.inc({ kind }, 0);
    for (const outcome of ['success', 'http_error', 'timeout', 'network', 'dns', 'refused_address']) {
      s.webhookAttempts.inc({ outcome }, 0);
      s.webhookAttemptSeconds.zero({ outcome });
    }
    for (const result of ['delivered', 'retry_scheduled', 'failed']) s.webhookDeliveries.inc({ result }, 0);
  } else {
    if (!opts.modelLabels) for (const source of ['csv', 'jsonl', 'single']) s.jobsSubmitted.inc({ source }, 0);
    for (const outcome of ['ok', 'error', 'timeout']) s.singlePrediction.zero({ outcome });
  }
  if (!opts.modelLabels) {
    for (const status of ['completed', 'failed', 'cancelled']) {
      s.jobsFinished.inc({ status }, 0);
      s.jobDuration.zero({ status });
    }
  }
  for (const state of ['in_use', 'idle']) s.pgPoolConnections.set({ state }, 0);
}

/**
 * The model labels of a series (METRICS_MODEL_LABELS), or none. Model names are tenant data: past
 * METRICS_MODEL_LABEL_LIMIT distinct pairs, new ones read `other`, so a tenant registering models
 * in a loop cannot blow up the series count.
 */
export function modelLabels(model: string | null | undefined, version: number | string | null | undefined): { model?: string; version?: string } {
  if (!modelPairs) return {};
  const m = model ?? 'unknown';
  const v = version === null || version === undefined ? 'unknown' : String(version);
  const key = `${m}\u0000${v}`;
  if (modelPairs.seen.has(key)) return { model: m, version: v };
  if (modelPairs.seen.size < modelPairs.limit) {
    modelPairs.seen.add(key);
    return { model: m, version: v };
  }
  return { model: 'other', version: 'other' };
}
