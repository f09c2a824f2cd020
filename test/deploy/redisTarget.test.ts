import { describe, expect, it } from 'vitest';
import { keyPrefix, redisTarget } from '../../src/queue/redisTarget.js';

// REDIS_URL / REDIS_CLUSTER_NODES / REDIS_TLS_CA_FILE as src/config.ts hands them over.

describe('redisTarget', () => {
  it('a single Redis keeps its URL as given; rediss:// is TLS', () => {
    expect(redisTarget('redis://:pw@10.0.0.1:6380/2', '', undefined)).toEqual({ url: 'redis://:pw@10.0.0.1:6380/2', cluster: null, tls: false, tlsCaFile: null });
    expect(redisTarget('rediss://cache.example.com:6380', '', '/etc/ca.pem')).toMatchObject({ cluster: null, tls: true, tlsCaFile: '/etc/ca.pem' });
  });

  it('redis+cluster:// names the seeds, with credentials (percent-decoded), IPv6 and the default port', () => {
    expect(redisTarget('rediss+cluster://app:p%40ss@a.example:7000,[::1]:7001,c.example/0', '', undefined)).toMatchObject({
      tls: true,
      cluster: { nodes: [{ host: 'a.example', port: 7000 }, { host: '::1', port: 7001 }, { host: 'c.example', port: 6379 }], username: 'app', password: 'p@ss' },
    });
  });

  it('REDIS_CLUSTER_NODES gives the seeds; REDIS_URL still gives the scheme and the password', () => {
    expect(redisTarget('rediss://:secret@ignored:6379', 'n1:7000, n2:7001', undefined)).toMatchObject({
      tls: true,
      cluster: { nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], password: 'secret' },
    });
  });

  it('refuses what it cannot use, naming the setting', () => {
    expect(() => redisTarget('redis://127.0.0.1:6379', '', '/etc/ca.pem')).toThrow(/REDIS_TLS_CA_FILE/);
    expect(() => redisTarget('redis://127.0.0.1:6379', 'n1:7000,n2:port', undefined)).toThrow(/REDIS_CLUSTER_NODES: "n2:port"/);
    expect(() => redisTarget('redis+cluster://n1:7000/3', '', undefined)).toThrow(/database 0/);
    expect(() => redisTarget('http://x', '', undefined)).toThrow(/REDIS_URL/);
  });
});

describe('keyPrefix', () => {
  it('is a hash tag on a cluster, unchanged on a single Redis, and a tag already there is kept', () => {
    expect(keyPrefix('sluice', true)).toBe('{sluice}');
    expect(keyPrefix('sluice', false)).toBe('sluice');
    expect(keyPrefix('{sluice}', true)).toBe('{sluice}');
    expect(keyPrefix('prod-{sluice}', true)).toBe('prod-{sluice}');
    // `{}` is no tag to Redis (an empty one hashes the whole key).
    expect(keyPrefix('a{}b', true)).toBe('{a{}b}');
  });
});
