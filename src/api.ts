import { Queue } from 'bullmq';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LastUsedRecorder } from './auth/lastUsed.js';
import type { Config } from './config.js';
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

/** Wires the api's dependencies; the caller listens. Refuses to start on a schema it does not know. */
export async function buildApi(config: Config) {
  const log = createLogger(config, 'api');
  const pool = createPool(config, 20);
  await assertMigrated(pool);
  // Fail fast while Redis is down: a submission is stored in Postgres and the reconciler enqueues it.
  const redis = createRedis(config, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  await new Promise<void>((resolve) => (redis.status === 'ready' ? resolve() : redis.once('ready', () => resolve())));
  const sub = createRedis(config);
  const queueOpts = { connection: redis, prefix: config.redisPrefix };
  const queues = { predict: new Queue(QUEUES.predict, queueOpts), interactive: new Queue(QUEUES.interactive, queueOpts), webhooks: new Queue(QUEUES.webhooks, queueOpts) };
  for (const q of Object.values(queues)) q.on('error', () => {});
  const channel = jobDoneChannel(config.redisPrefix);
  const waiter = new JobWaiter(sub, channel);
  await waiter.start();
  // Live progress rides on the waiter's subscriber connection: one subscription per process.
  const progressChannel = jobProgressChannel(config.redisPrefix);
  const events = new JobEvents({ pool, sub, channels: { finished: channel, progress: progressChannel }, view: viewContext(config), heartbeatMs: config.sse.heartbeatMs, log });
  await events.start();
  const notify = new JobFinishedNotifier(redis, channel, queues.webhooks, log, progressChannel);
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
  server: Server;
  log: Logger;
  /**
   * What SIGTERM asks for: stop accepting connections; requests in flight finish (an upload in
   * progress is stored whole and answered 202). Past SHUTDOWN_GRACE_MS the remaining connections
   * are cut: an upload cut off ends `failed` (upload_aborted) with its chunks removed. Only then are
   * Postgres and Redis closed (the lookup caches' LISTEN connection first).
   */
  close(): Promise<void>;
}

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
  log.info({ port }, 'sluice api listening');

  // Responses in progress, so a shutdown can tell their clients not to reuse the connection.
  const open = new Set<ServerResponse>();
  let stopping = false;
  server.on('request', (_req, res: ServerResponse) => {
    if (stopping) res.setHeader('Connection', 'close');
    open.add(res);
    res.on('close', () => open.delete(res));
  });

  let closing: Promise<void> | undefined;
  const close = () => new Promise<void>((resolve, reject) => {
    stopping = true;
    log.info({ graceMs: config.worker.shutdownGraceMs, inFlight: open.size }, 'stopping: no new connections, finishing requests in flight');
    for (const res of open) if (!res.headersSent) res.setHeader('Connection', 'close');
    // Event streams never finish on their own: ended now, their clients reconnect elsewhere (Last-Event-ID).
    api.events.close();
    const timer = setTimeout(() => {
      log.warn({ inFlight: open.size }, 'grace period over; closing the connections still open');
      server.closeAllConnections();
    }, config.worker.shutdownGraceMs).unref();
    server.close(() => {
      clearTimeout(timer);
      uploadsSettled().then(() => api.close()).then(() => log.info('stopped')).then(resolve, reject);
    });
    server.closeIdleConnections();
  });
  const host = ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return { url: `http://${host}:${port}`, port, server, log, close: () => (closing ??= close()) };
}
