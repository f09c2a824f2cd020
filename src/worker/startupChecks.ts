import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';

/**
 * Redis that evicts keys or keeps nothing on disk can drop queued references. Nothing is lost
 * for good (the reconciler re-enqueues from Postgres), but recovery waits for its interval:
 * say so loudly at start.
 */
export async function checkRedis(redis: Redis, log: Logger) {
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as string[];
    if (policy !== 'noeviction') log.warn({ policy }, `Redis maxmemory-policy is "${policy}", not "noeviction": under memory pressure Redis may evict queued jobs (the reconciler re-enqueues them from Postgres, after a delay)`);
    const [, aof] = (await redis.config('GET', 'appendonly')) as string[];
    const [, save] = (await redis.config('GET', 'save')) as string[];
    if (aof !== 'yes' && !save) log.warn('Redis persistence is off (no AOF, no RDB snapshots): a Redis restart empties the queues until the reconciler re-enqueues from Postgres');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not read the Redis configuration (CONFIG GET refused?); check maxmemory-policy=noeviction and persistence by hand');
  }
}
