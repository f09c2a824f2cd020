import type { Logger } from '../log.js';
import { redisServers, type RedisClient } from '../queue/redis.js';

/**
 * Redis that evicts keys or keeps nothing on disk can drop queued references. Nothing is lost
 * for good (the reconciler re-enqueues from Postgres), but recovery waits for its interval:
 * say so loudly at start. On a cluster every primary is asked (each is configured on its own).
 */
export async function checkRedis(redis: RedisClient, log: Logger) {
  try {
    for (const { name, redis: server } of await redisServers(redis)) {
      const node = name ? { node: name } : {};
      const [, policy] = (await server.config('GET', 'maxmemory-policy')) as string[];
      if (policy !== 'noeviction') log.warn({ policy, ...node }, `Redis maxmemory-policy is "${policy}", not "noeviction": under memory pressure Redis may evict queued jobs (the reconciler re-enqueues them from Postgres, after a delay)`);
      const [, aof] = (await server.config('GET', 'appendonly')) as string[];
      const [, save] = (await server.config('GET', 'save')) as string[];
      if (aof !== 'yes' && !save) log.warn(node, 'Redis persistence is off (no AOF, no RDB snapshots): a Redis restart empties the queues until the reconciler re-enqueues from Postgres');
    }
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not read the Redis configuration (CONFIG GET refused?); check maxmemory-policy=noeviction and persistence by hand');
  }
}
