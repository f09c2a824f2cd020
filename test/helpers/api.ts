import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { buildApi } from '../../src/api.js';
import type { Config } from '../../src/config.js';
import type { Lookups } from '../../src/http/lookups.js';
import { createKey } from '../../src/auth/tenants.js';
import { createTestEnv, type TestEnv } from './env.js';

/**
 * The api in this process, on a free port: for tests about HTTP behaviour rather than processes.
 * Its lookup caches are listening when this resolves (`lookups`, whose `pool` is the api's pool).
 */
export async function startInProcessApi(config: Config): Promise<{ url: string; lookups: Lookups; close(): Promise<void> }> {
  const api = await buildApi(config);
  const { lookups } = api;
  await lookups.start();
  const server: Server = await new Promise((resolve) => {
    const s = api.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    lookups,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await api.close();
    },
  };
}

export function client(url: string, key: string) {
  const auth = { authorization: `Bearer ${key}` };
  return {
    url,
    get: (p: string, headers: Record<string, string> = {}) => fetch(url + p, { headers: { ...auth, ...headers } }),
    post: (p: string, body?: BodyInit, headers: Record<string, string> = {}) => fetch(url + p, { method: 'POST', body, headers: { ...auth, ...headers } }),
    postJson: (p: string, body: unknown) => fetch(url + p, { method: 'POST', body: JSON.stringify(body), headers: { ...auth, 'content-type': 'application/json' } }),
    del: (p: string) => fetch(url + p, { method: 'DELETE', headers: auth }),
    put: (p: string, body: unknown) => fetch(url + p, { method: 'PUT', body: JSON.stringify(body), headers: { ...auth, 'content-type': 'application/json' } }),
    postCsv: (p: string, csv: string | Uint8Array) => fetch(url + p, { method: "POST", body: csv as BodyInit, headers: { ...auth, 'content-type': 'text/csv' } }),
    async registerModel(name: string, onnx: Uint8Array, signature: unknown, metrics?: unknown) {
      const form = new FormData();
      form.set('signature', JSON.stringify(signature));
      if (metrics) form.set('metrics', JSON.stringify(metrics));
      form.set("model", new Blob([Buffer.from(onnx)]), `${name}.onnx`);
      return fetch(`${url}/v1/models/${name}/versions`, { method: 'POST', body: form, headers: auth });
    },
    /** Long-polls the job (GET ?wait=) until it is final: woken by the job's own completion event. */
    async waitForJob(id: string, timeoutMs = 60_000): Promise<Record<string, any>> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const j = await (await fetch(`${url}/v1/jobs/${id}?wait=5`, { headers: auth })).json();
        if (['completed', 'failed', 'cancelled'].includes(j.status)) return j;
        if (Date.now() > end) throw new Error(`job ${id} still ${j.status} after ${timeoutMs} ms: ${JSON.stringify(j)}`);
      }
    },
  };
}

export interface ApiForTenant {
  env: TestEnv;
  api: Awaited<ReturnType<typeof startInProcessApi>>;
  /** A client with a key of tenant "acme" holding every scope. */
  c: ReturnType<typeof client>;
  close(): Promise<void>;
}

/** A database of its own, an in-process api on it, and a client for one tenant: the usual HTTP test setup. */
export async function apiForTenant(overrides: Record<string, string> = {}): Promise<ApiForTenant> {
  const env = await createTestEnv(overrides);
  const api = await startInProcessApi(env.config);
  const c = client(api.url, (await createKey(env.pool, 'acme')).key);
  return {
    env, api, c,
    async close() {
      await api.close();
      await env.close();
    },
  };
}
