import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createRedis } from '../../src/queue/redis.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import type { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { killAll, startApi, startWorker, type Proc } from '../helpers/processes.js';
import { tenantClient } from '../reliability/harness.js';
import { startTlsRedis, type TlsRedis } from './redisServers.js';

// Sluice on a TLS-only Redis (a managed Redis's situation): rediss:// with the server's certificate
// verified against REDIS_TLS_CA_FILE. The server (Debian's redis-server, built with TLS) listens on
// --tls-port only, with a CA and a server certificate openssl makes here.

let redis: TlsRedis;
let env: TestEnv;
let api: Proc & { url: string };
let c: ReturnType<typeof client>;

beforeAll(async () => {
  redis = await startTlsRedis();
  env = await createTestEnv({ REDIS_URL: redis.url, REDIS_TLS_CA_FILE: redis.caFile });
  [api] = await Promise.all([startApi(env.env), startWorker(env.env, { INFERENCE_THREADS: '1', WORKER_CONCURRENCY: '1' })]);
  c = await tenantClient(env.pool, api.url);
  expect((await c.registerModel('cars', linearRegression([1, 2], 0.5), { columns: ['a', 'b'], task: 'regression' })).status).toBe(201);
}, 90_000);

afterAll(async () => {
  await killAll();
  await env?.close();
  await redis?.stop();
});

/** The first thing a connection says: 'ready', or the error that stopped it. */
async function firstWord(config: ReturnType<typeof loadConfig>): Promise<string> {
  const r = createRedis(config, { retryStrategy: () => null, lazyConnect: true });
  try {
    const outcome = new Promise<string>((resolve) => {
      r.once('ready', () => resolve('ready'));
      r.once('error', (err: Error) => resolve(err.message));
    });
    await r.connect().catch(() => {});
    return await outcome;
  } finally {
    r.disconnect();
  }
}

describe('a TLS Redis (rediss://)', () => {
  it('api and worker connected over TLS: a single prediction completes', async () => {
    const res = await c.postJson('/v1/predictions', { model: 'cars', inputs: [{ a: 3, b: 4 }], wait: 10 });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.predictions[0].prediction).toBeCloseTo(11.5, 4);
  });

  it('the certificate is verified: a CA that did not sign it, or none, is refused', async () => {
    expect(await firstWord(env.config)).toBe('ready');
    expect(await firstWord(loadConfig({ ...env.env, REDIS_TLS_CA_FILE: redis.otherCaFile }))).toMatch(/certificate/i);
    expect(await firstWord(loadConfig({ ...env.env, REDIS_TLS_CA_FILE: '' }))).toMatch(/certificate/i);
  });

  it('REDIS_TLS_CA_FILE without rediss:// is a configuration error', () => {
    expect(() => loadConfig({ ...env.env, REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/REDIS_TLS_CA_FILE/);
  });
});
