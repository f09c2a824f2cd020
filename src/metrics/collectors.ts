import { beforeScrape, series } from './series.js';

// Readings taken at scrape time, and listeners on connections. The things read are described by
// the little they must offer (structural types), so this module imports neither pg, BullMQ nor
// ioredis: the process wiring (src/api.ts, src/worker/startPredictWorker.ts) hands them in.

/** Past this, a scrape-time reading is given up: the scrape answers without it rather than late. */
export const SCRAPE_READ_TIMEOUT_MS = 1000;

class ReadTimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadTimeoutError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export interface PoolLike {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** sluice_pg_pool_connections{state} and sluice_pg_pool_waiting_requests, read from the pool when scraped. */
export function watchPgPool(pool: PoolLike): void {
  beforeScrape(() => {
    series.pgPoolConnections.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
    series.pgPoolConnections.set({ state: 'idle' }, pool.idleCount);
    series.pgPoolWaiting.set(pool.waitingCount);
  });
}

export interface ReconnectingLike {
  on(event: 'reconnecting', listener: () => void): unknown;
}

/** sluice_redis_reconnects_total{connection}: every reconnection attempt of this connection. */
export function countRedisReconnects(connection: ReconnectingLike, name: string): void {
  if (!series.enabled) return;
  series.redisReconnects.inc({ connection: name }, 0);
  connection.on('reconnecting', () => series.redisReconnects.inc({ connection: name }));
}

export interface QueueLike {
  readonly name: string;
  getJobCounts(...types: ('waiting' | 'prioritized' | 'active' | 'delayed' | 'failed')[]): Promise<Record<string, number>>;
  getJobs(types: 'wait'[], start?: number, end?: number, asc?: boolean): Promise<({ timestamp: number } | undefined)[]>;
}

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/**
 * sluice_queue_jobs{queue,state} and sluice_queue_oldest_waiting_age_seconds{queue}, read when
 * scraped: one counting call and one look at the oldest waiting job per queue, each a few Redis
 * commands. A queue that does not answer within SCRAPE_READ_TIMEOUT_MS (Redis away or stuck) has
 * its series dropped from that scrape rather than shown stale.
 */
export function watchQueues(queues: QueueLike[], timeoutMs = SCRAPE_READ_TIMEOUT_MS): void {
  beforeScrape(() =>
    Promise.all(queues.map(async (q) => {
      try {
        const [counts, oldest] = await withTimeout(Promise.all([q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'), q.getJobs(['wait'], 0, 0, true)]), timeoutMs);
        for (const state of STATES) series.queueJobs.set({ queue: q.name, state }, (counts[state] ?? 0) + (state === 'waiting' ? (counts.prioritized ?? 0) : 0));
        const ts = oldest[0]?.timestamp;
        series.queueOldestWaiting.set({ queue: q.name }, ts ? Math.max(0, (Date.now() - ts) / 1000) : 0);
      } catch {
        for (const state of STATES) series.queueJobs.remove({ queue: q.name, state });
        series.queueOldestWaiting.remove({ queue: q.name });
      }
    })).then(() => {}),
  );
}

export interface RedisConfigLike {
  config(op: 'GET', parameter: string): Promise<unknown>;
  info(section: string): Promise<string>;
}

/**
 * sluice_redis_persistence_enabled: 1 with AOF on or RDB save rules, 0 with neither (a restart
 * empties the queues; the reconciler refills them from Postgres, after its interval). Where Redis
 * refuses CONFIG GET (managed services often do), INFO's aof_enabled decides alone (RDB rules are
 * not visible there: such a Redis with snapshots only reads 0).
 */
export function watchRedisPersistence(redis: RedisConfigLike, timeoutMs = SCRAPE_READ_TIMEOUT_MS): void {
  beforeScrape(async () => {
    try {
      const [aof, save] = await withTimeout(Promise.all([redis.config('GET', 'appendonly'), redis.config('GET', 'save')]), timeoutMs);
      const value = (pair: unknown) => (Array.isArray(pair) ? String(pair[1] ?? '') : '');
      series.redisPersistence.set(value(aof) === 'yes' || value(save).trim() !== '' ? 1 : 0);
    } catch {
      const info = await withTimeout(redis.info('persistence'), timeoutMs).catch(() => null);
      if (info !== null) series.redisPersistence.set(/^aof_enabled:1\s*$/m.test(info) ? 1 : 0);
    }
  });
}
