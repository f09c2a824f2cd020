import { Queue } from 'bullmq';
import { createServer, type Server, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { LastUsedRecorder } from './auth/lastUsed.js';
import type { Config } from './config.js';
import type { JobRow } from './db/jobRow.js';
import { assertMigrated } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { createApp } from './http/app.js';
import { Lookups } from './http/lookups.js';
import { serverOptions } from './http/serverOptions.js';
import { uploadsSettled } from './jobs/intake.js';
import { JobFinishedNotifier } from './jobs/finished.js';
import { JobWaiter } from './jobs/waiter.js';
import { JobEvents } from './jobs/jobEvents.js';
import { viewContext } from './jobs/view.js';
import { createLogger, type Logger } from './log.js';
import { jobDoneChannel, jobProgressChannel, QUEUES } from './queue/queues.js';
import { createRedis } from './queue/redis.js';
import { queueTelemetry } from './tracing/bullmq.js';
import { countRedisReconnects, watchPgPool, watchQueues, watchRedisPersistence } from './metrics/collectors.js';
import { recordJobEnds } from './metrics/jobEnds.js';
import { startMetricsServer, type MetricsServer } from './metrics/metricsServer.js';
import { configureMetrics, series } from './metrics/series.js';
import { logJobEnd } from './jobs/jobEndLog.js';

/** Wires the api's dependencies; the caller listens. Refuses to start on a schema it does not know. */
export async function buildApi(config: Config) {
  const log = createLogger(config, 'api');
  // Before anything records: the process's registry (no-ops with METRICS_ENABLED=false).
  configureMetrics({ enabled: config.metrics.enabled, role: 'api', modelLabels: config.metrics.modelLabels, modelLabelLimit: config.metrics.modelLabelLimit });
  const pool = createPool(config, 20);
  watchPgPool(pool);
  await assertMigrated(pool);
  // Fail fast while Redis is down: a submission is stored in Postgres and the reconciler enqueues it.
  const redis = createRedis(config, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  await new Promise<void>((resolve) => (redis.status === 'ready' ? resolve() : redis.once('ready', () => resolve())));
  const sub = createRedis(config);
  countRedisReconnects(redis, 'api');
  countRedisReconnects(sub, 'subscriber');
  const queueOpts = { connection: redis, prefix: config.redisPrefix, telemetry: queueTelemetry() };
  const queues = { predict: new Queue(QUEUES.predict, queueOpts), interactive: new Queue(QUEUES.interactive, queueOpts), webhooks: new Queue(QUEUES.webhooks, queueOpts) };
  for (const q of Object.values(queues)) q.on('error', () => {});
  // Backlog and Redis persistence are read when Prometheus scrapes, on the api's fail-fast connection.
  watchQueues(Object.values(queues));
  watchRedisPersistence(redis);
  const channel = jobDoneChannel(config.redisPrefix);
  const waiter = new JobWaiter(sub, channel);
  await waiter.start();
  // Live progress rides on the waiter's subscriber connection: one subscription per process.
  const progressChannel = jobProgressChannel(config.redisPrefix);
  const events = new JobEvents({ pool, sub, channels: { finished: channel, progress: progressChannel }, view: viewContext(config), heartbeatMs: config.sse.heartbeatMs, log });
  await events.start();
  // Ends committed here (an upload completed after its last chunk, a cancel, an aborted upload) are counted and logged here.
  const onEnded = (jobs: JobRow[]) => {
    recordJobEnds(jobs);
    for (const job of jobs) logJobEnd(log, job);
  };
  const notify = new JobFinishedNotifier(redis, channel, queues.webhooks, log, progressChannel, onEnded);
  // The caches are bypassed until their LISTEN connection is up (see lookups.ts): not waited for here.
  const lookups = new Lookups(pool, { connectionString: config.databaseUrl, log });
  void lookups.start();
  const app = createApp({ config, pool, redis, queues, waiter, events, notify, log, lookups });
  return {
    app,
    log,
    lookups,
    events,
    async close() {
      // Last-use times noted since the last flush would otherwise be lost.
      const lastUsed = app.locals.lastUsed as LastUsedRecorder | undefined;
      lastUsed?.stop();
      await lastUsed?.flush();
      await Promise.allSettled(Object.values(queues).map((q) => q.close()));
      events.close();
      await waiter.close();
      await lookups.close();
      redis.disconnect();
      await pool.end();
    },
  };
}

export interface RunningApi {
  url: string;
  port: number;
  /** Where GET /metrics answers (METRICS_PORT; 0 asks for a free one); null with METRICS_ENABLED=false. */
  metricsPort: number | null;
  server: Server;
  log: Logger;
  /**
   * What SIGTERM asks for: /readyz answers 503 (`draining`) at once and requests are still served
   * for SHUTDOWN_DRAIN_MS; then stop accepting connections; requests in flight finish (an upload in
   * progress is stored whole and answered 202). Past SHUTDOWN_GRACE_MS the remaining connections
   * are cut: an upload cut off ends `failed` (upload_aborted) with its chunks removed. Only then are
   * Postgres and Redis closed (the lookup caches' LISTEN connection first).
   */
  close(): Promise<void>;
}

/** How long no request must have come before a stopping api drops its idle keep-alive connections. */
const QUIET_MS = 250;

/** The api listening on config.host:config.port (port 0: any free one, see `port`). */
export async function startApi(config: Config): Promise<RunningApi> {
  const api = await buildApi(config);
  const { log } = api;
  const server = createServer(serverOptions(config), api.app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => (server.off('error', reject), resolve()));
  }).catch(async (err) => {
    await api.close();
    throw err;
  });
  const { port } = server.address() as AddressInfo;
  let metrics: MetricsServer | null = null;
  if (config.metrics.enabled) {
    metrics = await startMetricsServer({ host: config.metrics.host, port: config.metrics.port }).catch(async (err: Error) => {
      server.close();
      await api.close();
      throw new Error(`the metrics listener could not start on ${config.metrics.host}:${config.metrics.port} (METRICS_PORT): ${err.message}`);
    });
  }
  series.ready.set(1);
  log.info({ port, metricsPort: metrics?.port ?? null }, 'sluice api listening');

  // Responses in progress, so a shutdown can tell their clients not to reuse the connection.
  const open = new Set<ServerResponse>();
  let stopping = false;
  let lastRequestAt = 0;
  server.on('request', (_req, res: ServerResponse) => {
    lastRequestAt = performance.now();
    // After the app's own listener: an answer it gave at once (/readyz while draining) is already out.
    if (stopping && !res.headersSent) res.setHeader('Connection', 'close');
    open.add(res);
    res.on('close', () => open.delete(res));
  });

  let closing: Promise<void> | undefined;
  const drainThenClose = async () => {
    // Unready first (/readyz answers 503 `draining`) while still serving: a balancer polling
    // readiness stops sending here before the port closes. Responses meanwhile say Connection:
    // close, so keep-alive clients (nginx's upstream pool) need fresh connections for their next
    // requests, and those are refused once the port closes: safe to send elsewhere.
    api.app.locals.draining = true;
    stopping = true;
    metrics?.stopping();
    const drainMs = config.worker.shutdownDrainMs;
    if (drainMs > 0) {
      log.info({ drainMs }, 'draining: unready, still serving');
      await new Promise((r) => setTimeout(r, drainMs));
    }
    await close();
  };
  const close = () => new Promise<void>((resolve, reject) => {
    log.info({ graceMs: config.worker.shutdownGraceMs, inFlight: open.size }, 'stopping: no new connections, finishing requests in flight');
    for (const res of open) if (!res.headersSent) res.setHeader('Connection', 'close');
    // Event streams never finish on their own: ended now, their clients reconnect elsewhere (Last-Event-ID).
    api.events.close();
    const timer = setTimeout(() => {
      log.warn({ inFlight: open.size }, 'grace period over; closing the connections still open');
      server.closeAllConnections();
    }, config.worker.shutdownGraceMs).unref();
    // net.Server's close, not http.Server's: the port stops accepting, but idle keep-alive
    // connections are not dropped yet. A client may have just written a request into one (nginx
    // reusing its upstream pool): dropped, that request fails after it was sent (nginx answers 502
    // and must not resend a POST). A balancer that finds the port refused stops choosing this
    // process (nginx: max_fails), so idle connections are closed only once no request has come
    // for QUIET_MS; in-flight ones end after their answers (Connection: close).
    net.Server.prototype.close.call(server, () => {
      clearTimeout(timer);
      server.close(() => {}); // http.Server's own timers (headers timeout checks); the port is already closed
      uploadsSettled().then(() => api.close()).then(() => metrics?.close()).then(() => log.info('stopped')).then(resolve, reject);
    });
    const closeIdleWhenQuiet = () => {
      const quietFor = performance.now() - lastRequestAt;
      if (quietFor >= QUIET_MS) server.closeIdleConnections();
      else setTimeout(closeIdleWhenQuiet, QUIET_MS - quietFor);
    };
    closeIdleWhenQuiet();
  });
  const host = ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return { url: `http://${host}:${port}`, port, metricsPort: metrics?.port ?? null, server, log, close: () => (closing ??= drainThenClose()) };
}
