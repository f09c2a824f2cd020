import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isCluster, keyPrefix, redisTarget } from './queue/redisTarget.js';

// The one place that reads the environment. Everything else receives a Config.
const SECOND = 1000;
/** MODEL_MEMORY_LIMIT_MB's default, also the inference pool's when it is not given one. */
export const DEFAULT_MODEL_MEMORY_LIMIT_MB = 1024;

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const secondsList = z
  .string()
  .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'comma-separated whole seconds, e.g. 0,5,300')
  .transform((v) => v.split(',').map((s) => Number(s.trim())));

const EnvSchema = z.object({
  NODE_ENV: z.string().default('development'),
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/sluice'),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  // Key prefix for every BullMQ queue and pub/sub channel, so several installs (or test runs) share one Redis.
  REDIS_PREFIX: z.string().default('sluice'),
  // A Redis Cluster: seed nodes as host:port,host:port (or REDIS_URL=redis+cluster://host:port,host:port).
  // REDIS_URL's credentials and scheme (rediss: TLS) still apply. On a cluster REDIS_PREFIX becomes a
  // hash tag ({sluice}) so every key lands in one slot, as BullMQ's scripts need (docs/deploy.md).
  REDIS_CLUSTER_NODES: z.string().default(''),
  // rediss:// only: the CA (PEM file) that signed the server's certificate, for a private CA.
  REDIS_TLS_CA_FILE: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  // Intake
  CHUNK_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(5000),
  MAX_UPLOAD_BYTES: z.coerce.number().int().min(1).default(5 * 1024 ** 3),
  MAX_RECORD_BYTES: z.coerce.number().int().min(64).default(1024 * 1024),
  // A gzip upload may expand at most this many times (past its first MiB) before it is refused as a
  // decompression bomb (413); its decompressed size also counts against MAX_UPLOAD_BYTES.
  MAX_GZIP_RATIO: z.coerce.number().min(1).default(200),
  MAX_COLUMNS: z.coerce.number().int().min(1).default(20_000),
  MAX_ROWS_PER_JOB: z.coerce.number().int().min(1).default(100_000_000),
  MAX_MODEL_BYTES: z.coerce.number().int().min(1).default(256 * 1024 * 1024),
  MAX_PREDICTION_RECORDS: z.coerce.number().int().min(1).default(1000),
  MAX_JSON_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  MAX_WAIT_SECONDS: z.coerce.number().min(0).default(30),
  MODEL_LOAD_TIMEOUT_MS: z.coerce.number().int().min(100).default(30 * SECOND),

  // Worker
  WORKER_QUEUES: z.string().default('predict,webhooks'),
  // Chunks in flight per worker process. Two per inference thread keeps a thread busy while
  // the other chunk's results are being written to Postgres.
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(4),
  INTERACTIVE_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(64),
  INFERENCE_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  INTRA_OP_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  EXECUTION_PROVIDER: z.enum(['cpu', 'cuda']).default('cpu'),
  // Rows per onnxruntime run(). Inference threads also parse and encode CSV chunks this many rows
  // at a time (at least 256), so it bounds a thread's working set too.
  INFERENCE_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000_000).default(1024),
  // Dynamic batching of small jobs: gather up to BATCH_MAX_ROWS rows, waiting at most BATCH_MAX_DELAY_MS.
  BATCH_MAX_ROWS: z.coerce.number().int().min(1).default(256),
  BATCH_MAX_DELAY_MS: z.coerce.number().min(0).default(2),
  // A small batch of a model its threads have timed as fast runs on the worker's main thread when
  // it should take less than this (src/inference/pool.ts InlineRuns); 0 sends every task to a thread.
  INLINE_INFERENCE_MAX_MS: z.coerce.number().min(0).max(50).default(1),
  MODEL_CACHE_DIR: z.string().default('.cache/models'),
  // How far the worker process's resident memory may grow while a task runs before its model is
  // failed with model_memory_exceeded (src/inference/pool.ts says what this does and does not bound).
  MODEL_MEMORY_LIMIT_MB: z.coerce.number().int().min(64).default(DEFAULT_MODEL_MEMORY_LIMIT_MB),
  // BullMQ lock, sized for chunks of CHUNK_ROWS=5000 (0.1-2 s to score and store). Inference runs on
  // worker threads, so the main loop renews the lock every LOCK_DURATION/2 without fail; 30 s
  // outlasts a long GC pause or a slow commit (a lock lost on a live worker means the chunk runs
  // twice: harmless, the done-mark decides, but wasted). A killed worker's chunk is re-offered once
  // its lock has expired and a stalled check has run: within LOCK_DURATION + STALLED_INTERVAL (45 s).
  // After MAX_STALLED_COUNT stalls BullMQ fails the job; the reconciler re-adds it, and the start
  // count in Postgres (CHUNK_ATTEMPTS + MAX_STALLED_COUNT + 1 starts) is what finally gives the rows
  // of a chunk that kills its worker every time (OOM, native crash) errors. Larger chunks or slower
  // models: raise LOCK_DURATION_MS rather than lowering it; tests use 2 s / 1 s to recover fast.
  LOCK_DURATION_MS: z.coerce.number().int().min(1000).default(30 * SECOND),
  STALLED_INTERVAL_MS: z.coerce.number().int().min(500).default(15 * SECOND),
  MAX_STALLED_COUNT: z.coerce.number().int().min(0).default(3),
  CHUNK_ATTEMPTS: z.coerce.number().int().min(1).default(3),
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).default(30 * SECOND),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(30 * SECOND),
  // On SIGTERM the api first answers /readyz with 503 (draining) and keeps serving this long, so a
  // balancer that polls readiness (Kubernetes, an active health check) stops sending it traffic
  // before it stops accepting connections (docs/deploy.md). Kept below SHUTDOWN_GRACE_MS' budget.
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).default(5 * SECOND),
  // Watchdog: an unfinished job with no progress (no chunk done, no upload bytes stored) for this
  // long is failed with reason `job_stalled` (its unscored rows get errors). It must exceed the
  // longest wait a job may spend queued behind others; an hour suits queues drained within minutes.
  JOB_STALL_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60 * 60 * SECOND),
  WATCHDOG_INTERVAL_MS: z.coerce.number().int().min(100).default(60 * SECOND),
  // Retention: finished jobs older than this (by finished_at) are deleted with their chunks,
  // results and deliveries, about RETENTION_BATCH_ROWS rows per short transaction (results go whole stored
  // chunks at a time); the job id then answers 410.
  RETENTION_TTL_HOURS: z.coerce.number().min(0).default(24 * 30),
  RETENTION_INTERVAL_MS: z.coerce.number().int().min(100).default(10 * 60 * SECOND),
  RETENTION_BATCH_ROWS: z.coerce.number().int().min(1).default(10_000),

  // Webhooks
  WEBHOOK_RETRY_SCHEDULE: secondsList.default([0, 5, 300, 1800, 7200, 18000, 36000, 36000]),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(1).default(15 * SECOND),
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).default(16),
  WEBHOOK_PROGRESS_INTERVAL_MS: z.coerce.number().int().min(0).default(5 * SECOND),
  // How long the previous secret keeps signing after a rotation, so receivers can switch over.
  WEBHOOK_SECRET_OVERLAP_SECONDS: z.coerce.number().int().min(0).default(24 * 60 * 60),

  // Live progress (Server-Sent Events, docs/events.md): a comment line this often keeps proxies
  // from cutting a quiet stream and lets a client tell a dead one. Streams held at once per tenant
  // by one api process: each costs a socket and a few kB, nothing in Postgres or Redis.
  SSE_HEARTBEAT_MS: z.coerce.number().int().min(10).default(15 * SECOND),
  SSE_MAX_STREAMS_PER_TENANT: z.coerce.number().int().min(1).default(10_000),

  // Secrets at rest: the AES-256-GCM key that encrypts webhook signing secrets (src/webhooks/secretCipher.ts),
  // 32 bytes as 64 hex digits or base64. Required when NODE_ENV=production or REQUIRE_SECRETS_KEY=true;
  // elsewhere a fixed development key stands in (and the processes say so in a warning).
  SECRETS_KEY: z.string().optional(),
  REQUIRE_SECRETS_KEY: bool.default(false),

  // Security: per-key and per-tenant rate limits, per-tenant queue and key caps, JSON depth, slow-client timeouts (docs/security.md)
  RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(1).default(1000),
  MAX_CONCURRENT_UPLOADS: z.coerce.number().int().min(1).default(4),
  // Per tenant as well as per key, so a tenant cannot multiply its share by creating keys. Unset,
  // a tenant gets twice its key's budget: room for two busy keys (say production and a backfill)
  // at full speed, while every further key only shares what the tenant has.
  TENANT_RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(1).optional(),
  TENANT_MAX_CONCURRENT_UPLOADS: z.coerce.number().int().min(1).optional(),
  MAX_QUEUED_ROWS_PER_TENANT: z.coerce.number().int().min(1).default(50_000_000),
  // Unrevoked keys per tenant. 100 is far more than services and people a tenant needs keys for,
  // and bounds the rows an admin key (or a looping script) can create.
  MAX_KEYS_PER_TENANT: z.coerce.number().int().min(1).default(100),
  MAX_JSON_DEPTH: z.coerce.number().int().min(2).max(1000).default(32),
  HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(20 * SECOND),
  BODY_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).default(30 * SECOND),
  // The whole body of one request must arrive within this, however steadily it trickles: 6 h moves
  // MAX_UPLOAD_BYTES (5 GiB) at ~250 KB/s, a slow link; a body slower than that only holds a
  // connection, an upload slot and a job row.
  MAX_UPLOAD_SECONDS: z.coerce.number().min(1).default(6 * 60 * 60),
  MAX_HEADER_BYTES: z.coerce.number().int().min(1024).default(16 * 1024),
  KEY_LAST_USED_FLUSH_MS: z.coerce.number().int().min(10).default(10 * SECOND),
  // Which proxies' X-Forwarded-For/-Proto to believe (Express's "trust proxy"): false (none, the
  // default), true (any), a hop count, or addresses/subnets/names (loopback, uniquelocal) separated
  // by commas. It decides the client address (rate limits, audit) and https (the Secure cookie).
  TRUST_PROXY: z.string().default('false'),

  // Dashboard (docs/security.md, "Dashboard sessions"): a session ends after this long without a
  // request, and this long after sign-in whatever its use. The built front end the api serves at /.
  SESSION_IDLE_MINUTES: z.coerce.number().positive().default(30),
  SESSION_MAX_HOURS: z.coerce.number().positive().default(12),
  WEB_DIST_DIR: z.string().optional(),
  // Queue UI (bull-board at /admin/queues, docs/observability.md "Queue UI"): read-only unless
  // QUEUE_BOARD_WRITE=true; QUEUE_BOARD_TENANTS (tenant names, comma-separated) opens it to those
  // tenants' admin keys, the operators'. Every tenant's jobs are on it, so unset it is open to nobody.
  QUEUE_BOARD_WRITE: bool.default(false),
  QUEUE_BOARD_TENANTS: z.string().default(''),

  // Metrics (docs/observability.md): Prometheus text on a listener of its own, never the public
  // port (the api's on METRICS_PORT, a worker's with /healthz and /readyz on WORKER_METRICS_PORT;
  // 0: any free port, named in the process's readiness message). false: no listener, nothing recorded.
  METRICS_ENABLED: bool.default(true),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
  METRICS_HOST: z.string().default('0.0.0.0'),
  // Model names are tenant data: labels on the per-model series only when asked for, capped per process.
  METRICS_MODEL_LABELS: bool.default(false),
  METRICS_MODEL_LABEL_LIMIT: z.coerce.number().int().min(1).default(50),

  // Traces (OpenTelemetry, docs/observability.md "Traces"): off unless an OTLP endpoint or a traces
  // exporter is named, and never with OTEL_SDK_DISABLED=true. The SDK reads the other OTEL_* itself.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().optional(),
  OTEL_TRACES_EXPORTER: z.string().optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
  OTEL_SDK_DISABLED: z.string().optional(),
});

export type Config = Readonly<ReturnType<typeof toConfig>>;

function toConfig(e: z.output<typeof EnvSchema>) {
  return {
    env: e.NODE_ENV,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redis: redisTarget(e.REDIS_URL, e.REDIS_CLUSTER_NODES, e.REDIS_TLS_CA_FILE),
    redisPrefix: keyPrefix(e.REDIS_PREFIX, isCluster(e.REDIS_URL, e.REDIS_CLUSTER_NODES)),
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL,
    logLevel: e.LOG_LEVEL,
    intake: {
      chunkRows: e.CHUNK_ROWS,
      maxUploadBytes: e.MAX_UPLOAD_BYTES,
      maxRecordBytes: e.MAX_RECORD_BYTES,
      maxGzipRatio: e.MAX_GZIP_RATIO,
      maxColumns: e.MAX_COLUMNS,
      maxRowsPerJob: e.MAX_ROWS_PER_JOB,
      maxModelBytes: e.MAX_MODEL_BYTES,
      maxPredictionRecords: e.MAX_PREDICTION_RECORDS,
      maxJsonBytes: e.MAX_JSON_BYTES,
      maxWaitSeconds: e.MAX_WAIT_SECONDS,
      modelLoadTimeoutMs: e.MODEL_LOAD_TIMEOUT_MS,
    },
    worker: {
      queues: e.WORKER_QUEUES.split(',').map((s) => s.trim()).filter(Boolean),
      concurrency: e.WORKER_CONCURRENCY,
      interactiveConcurrency: e.INTERACTIVE_CONCURRENCY,
      inferenceThreads: e.INFERENCE_THREADS,
      intraOpThreads: e.INTRA_OP_THREADS,
      executionProvider: e.EXECUTION_PROVIDER,
      inferenceBatchSize: e.INFERENCE_BATCH_SIZE,
      batchMaxRows: e.BATCH_MAX_ROWS,
      batchMaxDelayMs: e.BATCH_MAX_DELAY_MS,
      inlineInferenceMaxMs: e.INLINE_INFERENCE_MAX_MS,
      modelCacheDir: e.MODEL_CACHE_DIR,
      modelMemoryLimitMb: e.MODEL_MEMORY_LIMIT_MB,
      lockDurationMs: e.LOCK_DURATION_MS,
      stalledIntervalMs: e.STALLED_INTERVAL_MS,
      maxStalledCount: e.MAX_STALLED_COUNT,
      chunkAttempts: e.CHUNK_ATTEMPTS,
      reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
      shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
      jobStallTimeoutMs: e.JOB_STALL_TIMEOUT_MS,
      watchdogIntervalMs: e.WATCHDOG_INTERVAL_MS,
      retentionTtlHours: e.RETENTION_TTL_HOURS,
      retentionIntervalMs: e.RETENTION_INTERVAL_MS,
      retentionBatchRows: e.RETENTION_BATCH_ROWS,
    },
    webhooks: {
      retrySchedule: e.WEBHOOK_RETRY_SCHEDULE,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
      concurrency: e.WEBHOOK_CONCURRENCY,
      progressIntervalMs: e.WEBHOOK_PROGRESS_INTERVAL_MS,
      secretOverlapSeconds: e.WEBHOOK_SECRET_OVERLAP_SECONDS,
    },
    sse: { heartbeatMs: e.SSE_HEARTBEAT_MS, maxStreamsPerTenant: e.SSE_MAX_STREAMS_PER_TENANT },
    secrets: secretsKey(e),
    security: {
      rateLimitPerSecond: e.RATE_LIMIT_PER_SECOND,
      maxConcurrentUploads: e.MAX_CONCURRENT_UPLOADS,
      tenantRateLimitPerSecond: e.TENANT_RATE_LIMIT_PER_SECOND ?? 2 * e.RATE_LIMIT_PER_SECOND,
      tenantMaxConcurrentUploads: e.TENANT_MAX_CONCURRENT_UPLOADS ?? 2 * e.MAX_CONCURRENT_UPLOADS,
      maxQueuedRowsPerTenant: e.MAX_QUEUED_ROWS_PER_TENANT,
      maxKeysPerTenant: e.MAX_KEYS_PER_TENANT,
      maxJsonDepth: e.MAX_JSON_DEPTH,
      headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
      bodyIdleTimeoutMs: e.BODY_IDLE_TIMEOUT_MS,
      maxUploadMs: e.MAX_UPLOAD_SECONDS * SECOND,
      maxHeaderBytes: e.MAX_HEADER_BYTES,
      keyLastUsedFlushMs: e.KEY_LAST_USED_FLUSH_MS,
    },
    trustProxy: trustProxy(e.TRUST_PROXY),
    tracing: tracing(e),
    metrics: {
      enabled: e.METRICS_ENABLED,
      port: e.METRICS_PORT,
      workerPort: e.WORKER_METRICS_PORT,
      host: e.METRICS_HOST,
      modelLabels: e.METRICS_MODEL_LABELS,
      modelLabelLimit: e.METRICS_MODEL_LABEL_LIMIT,
    },
    dashboard: {
      sessionIdleMs: e.SESSION_IDLE_MINUTES * 60 * SECOND,
      sessionMaxMs: e.SESSION_MAX_HOURS * 3600 * SECOND,
      // Relative to the package, not the working directory, unless given.
      webDistDir: e.WEB_DIST_DIR ? path.resolve(e.WEB_DIST_DIR) : fileURLToPath(new URL('../web/dist', import.meta.url)),
    },
    queueBoard: { write: e.QUEUE_BOARD_WRITE, tenants: e.QUEUE_BOARD_TENANTS.split(',').map((t) => t.trim()).filter(Boolean) },
  };
}

/** TRUST_PROXY as Express takes it: a boolean, a hop count, or a list of addresses and subnets. */
function trustProxy(v: string): boolean | number | string {
  const t = v.trim().toLowerCase();
  if (['', 'false', '0', 'no'].includes(t)) return false;
  if (['true', 'yes'].includes(t)) return true;
  return /^\d+$/.test(t) ? Number(t) : v.trim();
}

/**
 * Whether this process exports traces. The variables mean what they mean to the OpenTelemetry SDK,
 * but tracing is off unless one names where to send: the SDK alone would send to localhost:4318.
 */
function tracing(e: z.output<typeof EnvSchema>): { enabled: boolean; serviceName: string | undefined } {
  const exporters = (e.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s && s !== 'null');
  const named = exporters.length > 0 && exporters[0] !== 'none';
  const endpoint = !!(e.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
  const disabled = e.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || exporters[0] === 'none';
  return { enabled: !disabled && (named || endpoint), serviceName: e.OTEL_SERVICE_NAME?.trim() || undefined };
}

export class ConfigError extends Error {}

/**
 * Not a secret: it stands in for SECRETS_KEY in development and tests only, fixed so that secrets
 * encrypted by one run still decrypt in the next. Production refuses to start without a real key.
 */
const DEVELOPMENT_SECRETS_KEY = createHash('sha256').update('sluice development secrets key (public; never use in production)').digest('base64');

/** SECRETS_KEY as 32 bytes, from 64 hex digits or base64 (standard or url-safe); undefined when it is neither. */
export function parseSecretsKey(v: string): Buffer | undefined {
  const t = v.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(t) ? Buffer.from(t, 'base64') : undefined;
  return bytes?.length === 32 ? bytes : undefined;
}

/** The key as base64 (config is frozen, and a Buffer cannot be), and where it came from. */
function secretsKey(e: z.output<typeof EnvSchema>): { key: string; source: 'env' | 'development' } {
  if (e.SECRETS_KEY) return { key: parseSecretsKey(e.SECRETS_KEY)!.toString('base64'), source: 'env' };
  return { key: DEVELOPMENT_SECRETS_KEY, source: 'development' };
}

/** SECRETS_KEY must parse when given, and be given in production (or when REQUIRE_SECRETS_KEY says so). */
function secretsKeyIssues(e: z.output<typeof EnvSchema>): string[] {
  if (e.SECRETS_KEY) return parseSecretsKey(e.SECRETS_KEY) ? [] : ['  SECRETS_KEY: must be 32 bytes, as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)'];
  if (e.NODE_ENV === 'production' || e.REQUIRE_SECRETS_KEY) {
    return [`  SECRETS_KEY: required ${e.NODE_ENV === 'production' ? 'when NODE_ENV=production' : 'when REQUIRE_SECRETS_KEY=true'}: it encrypts webhook secrets at rest (make one with \`openssl rand -base64 32\` and keep it)`];
  }
  return [];
}

function deepFreeze<T>(o: T): T {
  for (const v of Object.values(o as object)) if (v && typeof v === 'object') deepFreeze(v);
  return Object.freeze(o);
}

/** The config from `env`: the process's environment unless a caller (a test, a script) hands another. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const keyIssues = secretsKeyIssues(parsed.data);
  if (keyIssues.length) throw new ConfigError(`Invalid configuration:\n${keyIssues.join('\n')}`);
  return deepFreeze(toConfig(parsed.data));
}
