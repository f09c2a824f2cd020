// Where Redis is, as REDIS_URL, REDIS_CLUSTER_NODES and REDIS_TLS_CA_FILE say (src/config.ts reads
// them; this only parses, so a bad value stops the process at start with the setting named).

export interface RedisTarget {
  /** REDIS_URL as given: a single Redis (redis:// or rediss://), or the cluster's seeds. */
  url: string;
  /** A Redis Cluster's seed nodes and credentials; null for a single Redis. */
  cluster: { nodes: { host: string; port: number }[]; username?: string; password?: string } | null;
  /** rediss:// (or rediss+cluster://): every connection is TLS, the server's certificate verified. */
  tls: boolean;
  /** PEM of the CA that signed the server's certificate, when the system's CAs do not cover it. */
  tlsCaFile: string | null;
}

export class RedisTargetError extends Error {}

const URL_RE = /^(rediss?)(\+cluster)?:\/\/(?:([^@/]*)@)?([^/?#]*)(\/\d*)?([?#].*)?$/i;

/** host:port (IPv6 as [addr]:port; a missing port is 6379). */
function node(s: string, setting: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(s.trim());
  if (!m) throw new RedisTargetError(`Invalid configuration:\n  ${setting}: "${s.trim()}" is not host:port`);
  return { host: m[1] ?? m[2], port: m[3] ? Number(m[3]) : 6379 };
}

/** REDIS_CLUSTER_NODES given, or a redis+cluster:// / rediss+cluster:// REDIS_URL. */
export function isCluster(url: string, clusterNodes: string): boolean {
  return clusterNodes.split(',').some((s) => s.trim()) || /^rediss?\+cluster:/i.test(url.trim());
}

export function redisTarget(url: string, clusterNodes: string, tlsCaFile: string | undefined): RedisTarget {
  const m = URL_RE.exec(url.trim());
  if (!m) throw new RedisTargetError('Invalid configuration:\n  REDIS_URL: expected redis://, rediss://, redis+cluster:// or rediss+cluster://[user:password@]host:port');
  const [, scheme, clusterScheme, userinfo, hosts, db] = m;
  const tls = scheme.toLowerCase() === 'rediss';
  if (tlsCaFile && !tls) throw new RedisTargetError('Invalid configuration:\n  REDIS_TLS_CA_FILE: given, but REDIS_URL is not rediss:// (TLS)');
  const seeds = isCluster('', clusterNodes) ? clusterNodes.split(',').filter((s) => s.trim()).map((s) => node(s, 'REDIS_CLUSTER_NODES')) : null;
  if (!seeds && !clusterScheme) return { url, cluster: null, tls, tlsCaFile: tlsCaFile || null };
  // A cluster has one database; a URL naming another would be silently ignored.
  if (db && db.length > 1 && db !== '/0') throw new RedisTargetError('Invalid configuration:\n  REDIS_URL: a Redis Cluster has only database 0');
  const nodes = seeds ?? hosts.split(',').filter((s) => s.trim()).map((s) => node(s, 'REDIS_URL'));
  if (!nodes.length) throw new RedisTargetError('Invalid configuration:\n  REDIS_URL: redis+cluster:// names no node');
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo) {
    const i = userinfo.indexOf(':');
    username = decodeURIComponent(i < 0 ? userinfo : userinfo.slice(0, i)) || undefined;
    password = i < 0 ? undefined : decodeURIComponent(userinfo.slice(i + 1)) || undefined;
  }
  return { url, cluster: { nodes, ...(username ? { username } : {}), ...(password ? { password } : {}) }, tls, tlsCaFile: tlsCaFile || null };
}

/**
 * The prefix of every key and channel Sluice uses. On a cluster it must be a hash tag: BullMQ's
 * scripts touch several keys of a queue at once and a script's keys must share a slot; `{sluice}`
 * puts all of them in the slot of "sluice". A prefix that already holds a tag is kept as it is, and
 * a single Redis keeps its prefix unchanged (changing it would orphan the keys already queued).
 */
export function keyPrefix(prefix: string, clustered: boolean): string {
  if (!clustered) return prefix;
  const open = prefix.indexOf('{');
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix : `{${prefix}}`;
}
