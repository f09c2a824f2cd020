import type { Queue } from 'bullmq';
import type { RedisClient } from '../queue/redis.js';
import type pg from 'pg';
import type { Config } from '../config.js';
import type { JobFinishedNotifier } from '../jobs/finished.js';
import type { Logger } from '../log.js';
import { series } from '../metrics/series.js';
import { periodic } from './periodic.js';
import { reconcile } from './reconcile.js';
import { retentionPass } from './retention.js';
import { watchdogPass } from './watchdog.js';

export interface HousekeepingDeps {
  config: Config;
  pool: pg.Pool;
  queues: { predict: Queue; interactive: Queue; webhooks: Queue };
  notify: JobFinishedNotifier;
  log: Logger;
  /** The worker's producer connection: its coming back starts a reconcile at once. */
  redis: RedisClient;
}

export interface Housekeeping {
  /** Resolves once the first reconcile pass has run (work Redis had lost is queued again). */
  ready: Promise<void>;
  /** No pass starts from the first (synchronous) moment of the call; resolves when those in flight end. */
  stop(): Promise<void>;
}

/** The reconciler, the watchdog and retention, each on its own interval. */
export function startHousekeeping(deps: HousekeepingDeps): Housekeeping {
  const { config, pool, queues, notify, log, redis } = deps;
  const reconciler = periodic('reconcile', config.worker.reconcileIntervalMs, async () => {
    const r = await reconcile({ pool, ...queues, attempts: config.worker.chunkAttempts, log });
    series.reconcilerReenqueued.inc({ kind: 'chunk' }, r.chunks);
    series.reconcilerReenqueued.inc({ kind: 'delivery' }, r.deliveries);
  }, log);
  const watchdog = periodic('watchdog', config.worker.watchdogIntervalMs, async () => series.watchdogStalled.inc(await watchdogPass({ pool, config, notify, log })), log);
  const retention = periodic('retention', config.worker.retentionIntervalMs, async () => series.retentionDeleted.inc((await retentionPass({ pool, config, log }))?.jobs ?? 0), log);
  const ready = reconciler.tick();
  // Redis back after an outage may be a Redis that restarted empty: reconcile at once rather than
  // waiting out the interval (a flush without a reconnect is caught by the interval).
  let redisUp = true;
  const onClose = () => (redisUp = false);
  const onReady = () => {
    if (redisUp) return;
    redisUp = true;
    log.info('Redis connection back; reconciling');
    void reconciler.tick();
  };
  redis.on('close', onClose);
  redis.on('ready', onReady);
  void ready.then(() => {
    void watchdog.tick();
    void retention.tick();
  });
  return {
    ready,
    stop() {
      redis.off('close', onClose);
      redis.off('ready', onReady);
      return Promise.allSettled([reconciler.stop(), watchdog.stop(), retention.stop()]).then(() => {});
    },
  };
}
