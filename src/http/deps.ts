import type { Queue } from 'bullmq';
import type { RedisClient } from '../queue/redis.js';
import type pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { JobFinishedNotifier } from '../jobs/finished.js';
import type { JobWaiter } from '../jobs/waiter.js';
import type { JobEvents } from '../jobs/jobEvents.js';
import type { Lookups } from './lookups.js';

/** Everything the api needs, built by the process and injected, so tests can build the app alone. */
export interface AppDeps {
  config: Config;
  pool: pg.Pool;
  redis: RedisClient;
  queues: { predict: Queue; interactive: Queue; webhooks: Queue };
  waiter: JobWaiter;
  /** Live progress: the SSE watchers of this process, fed by one Redis subscription (src/jobs/jobEvents.ts). */
  events: JobEvents;
  notify: JobFinishedNotifier;
  log: Logger;
  /**
   * Per-process caches of the key, model-reference and quota lookups, invalidated by Postgres
   * NOTIFY (src/http/lookups.ts). Routes resolve references with `lookups.resolveModel(tenantId, ref)`.
   */
  lookups: Lookups;
}
