import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';

// BullMQ workers need maxRetriesPerRequest: null (blocking commands must wait out a reconnect).
// The api's connection fails fast instead, so a submission during a Redis outage gets a 503.
export function createRedis(config: Pick<Config, 'redisUrl'>, opts: RedisOptions = {}): Redis {
  const r = new Redis(config.redisUrl, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...opts,
  });
  r.on('error', () => {}); // reconnects on its own; readiness reports the outage
  return r;
}
