import { readFileSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';

/** A connection to a single Redis or to a Redis Cluster (REDIS_CLUSTER_NODES, redis+cluster://). */
export type RedisClient = Redis | Cluster;

const retry = (times: number) => Math.min(times * 200, 2000);

// Read once per process: every connection of a process trusts the same CA.
const cas = new Map<string, Buffer>();
function ca(file: string): Buffer {
  let pem = cas.get(file);
  if (!pem) cas.set(file, (pem = readFileSync(file)));
  return pem;
}

// BullMQ workers need maxRetriesPerRequest: null (blocking commands must wait out a reconnect).
// The api's connection fails fast instead, so a submission during a Redis outage gets a 503.
export function createRedis(config: Pick<Config, 'redisUrl' | 'redis'>, opts: RedisOptions = {}): RedisClient {
  const { cluster, tls, tlsCaFile } = config.redis;
  // rediss://: TLS with the server's certificate verified, against REDIS_TLS_CA_FILE when given.
  const tlsOpts = tls ? { tls: tlsCaFile ? { ca: ca(tlsCaFile) } : {} } : {};
  let r: RedisClient;
  if (cluster) {
    // Per-node options go in redisOptions; queueing while the cluster is not ready is the cluster's.
    const { enableOfflineQueue, retryStrategy: _perNode, ...nodeOpts } = opts;
    r = new Cluster(cluster.nodes.map((n) => ({ ...n })), {
      clusterRetryStrategy: retry,
      enableOfflineQueue: enableOfflineQueue ?? true,
      // Under TLS a node is reached by the name it announces, so the certificate is checked against
      // that name rather than an address looked up first (the managed services' advice).
      ...(tls ? { dnsLookup: (address: string, done: (err: Error | null, address: string) => void) => done(null, address) } : {}),
      redisOptions: { maxRetriesPerRequest: null, username: cluster.username, password: cluster.password, ...tlsOpts, ...nodeOpts },
    });
  } else {
    r = new Redis(config.redisUrl, { maxRetriesPerRequest: null, retryStrategy: retry, ...tlsOpts, ...opts });
  }
  r.on('error', () => {}); // reconnects on its own; readiness reports the outage
  return r;
}

/** Resolves once the connection is ready (at once if it is). */
export function redisReady(r: RedisClient): Promise<void> {
  return new Promise((resolve) => (r.status === 'ready' ? resolve() : r.once('ready', () => resolve())));
}

/**
 * The servers behind a connection: itself for a single Redis, each primary of a cluster (once the
 * cluster is ready), for what is asked of every server (its configuration at start).
 */
export async function redisServers(r: RedisClient): Promise<{ name: string | null; redis: Redis }[]> {
  if (!(r instanceof Cluster)) return [{ name: null, redis: r }];
  await redisReady(r);
  return r.nodes('master').map((n) => ({ name: `${n.options.host}:${n.options.port}`, redis: n }));
}
