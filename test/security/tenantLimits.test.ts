import { once } from 'node:events';
import { createServer, request, type ClientRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api.js';
import { createKey } from '../../src/auth/tenants.js';
import { serverOptions } from '../../src/http/serverOptions.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { expectProblem } from '../helpers/problem.js';

// Limits that protect the service hold per tenant as well as per key: a tenant cannot get more by
// creating keys. And a body that trickles just fast enough to dodge the idle timeout is still cut
// by the total upload deadline (MAX_UPLOAD_SECONDS). The api runs behind serverOptions(config).
let env: TestEnv;
let api: Awaited<ReturnType<typeof buildApi>>;
let server: Server;
let url: string;
const sig = { columns: ['a', 'b'], task: 'regression' };

beforeAll(async () => {
  env = await createTestEnv({
    MAX_CONCURRENT_UPLOADS: '4', TENANT_MAX_CONCURRENT_UPLOADS: '4',
    RATE_LIMIT_PER_SECOND: '5', TENANT_RATE_LIMIT_PER_SECOND: '8',
    MAX_UPLOAD_SECONDS: '1.5', BODY_IDLE_TIMEOUT_MS: '10000', HEADERS_TIMEOUT_MS: '600',
  });
  api = await buildApi(env.config);
  server = createServer(serverOptions(env.config), api.app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await api?.close();
  await env?.close();
});

/** Starts a CSV upload and keeps it open (header and one row sent, never ended). */
function openUpload(key: string, tag: string): { req: ClientRequest; status: Promise<number> } {
  const u = new URL(`${url}/v1/jobs?model=lin&idempotency_key=${tag}`);
  const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv', 'transfer-encoding': 'chunked' } });
  const status = new Promise<number>((resolve) => {
    req.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0)));
    req.on('error', () => resolve(-1));
  });
  req.write('a,b\n1,2\n');
  return { req, status };
}

async function until(what: string, check: () => Promise<boolean>, ms = 10_000) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (await check()) return;
  throw new Error(`timed out waiting for ${what}`);
}

const receiving = async (tenantId: string) =>
  (await env.pool.query(`SELECT count(*)::int AS n FROM jobs WHERE tenant_id = $1 AND status = 'receiving'`, [tenantId])).rows[0].n as number;

describe('per-tenant limits', () => {
  it('4 uploads open on key B: a new key of the same tenant is refused a 5th (TENANT_MAX_CONCURRENT_UPLOADS); other tenants are not', async () => {
    const b = await createKey(env.pool, 'uploads-co');
    expect((await client(url, b.key).registerModel('lin', linearRegression([1, 2], 0), sig)).status).toBe(201);
    const open = [0, 1, 2, 3].map((i) => openUpload(b.key, `b-${i}`));
    await until('4 uploads receiving', async () => (await receiving(b.tenantId)) === 4);

    const fresh = client(url, (await createKey(env.pool, 'uploads-co')).key);
    const refused = await expectProblem(await fresh.postCsv('/v1/jobs?model=lin', 'a,b\n1,2\n'), 429, 'rate_limited');
    expect(refused.detail).toMatch(/TENANT_MAX_CONCURRENT_UPLOADS/);
    expect(Number(refused.retry_after)).toBeGreaterThanOrEqual(1);

    // Another tenant has its own budget.
    const other = client(url, (await createKey(env.pool, 'someone-else')).key);
    expect((await other.registerModel('lin', linearRegression([1, 2], 0), sig)).status).toBe(201);
    expect((await other.postCsv('/v1/jobs?model=lin', 'a,b\n1,2\n')).status).toBe(202);

    // One upload finishes: its slots (key's and tenant's) come back, and the new key gets in.
    open[0].req.end();
    expect(await open[0].status).toBe(202);
    await until('a tenant slot free', async () => (await fresh.postCsv('/v1/jobs?model=lin', 'a,b\n1,2\n')).status === 202);
    for (const o of open.slice(1)) o.req.end();
    expect(await Promise.all(open.slice(1).map((o) => o.status))).toEqual([202, 202, 202]);
  });

  it('requests per second: keys of one tenant share TENANT_RATE_LIMIT_PER_SECOND', async () => {
    const keys = await Promise.all([0, 1, 2].map(() => createKey(env.pool, 'chatty-co')));
    // 3 keys × 4 requests: each key within its own 5/s, the tenant over its 8/s.
    const results = await Promise.all(keys.flatMap((k) => [0, 1, 2, 3].map(() => fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${k.key}` } }))));
    const ok = results.filter((r) => r.status === 200).length;
    const limited = results.filter((r) => r.status === 429);
    expect(ok).toBeLessThanOrEqual(8);
    expect(limited.length).toBeGreaterThanOrEqual(4);
    const body = await limited[0].json();
    expect(body).toMatchObject({ code: 'rate_limited', status: 429 });
    expect(body.detail).toMatch(/TENANT_RATE_LIMIT_PER_SECOND/);
  });
});

describe('total upload deadline', () => {
  it('a body that trickles a byte often enough to dodge the idle timeout is cut at MAX_UPLOAD_SECONDS; the job ends failed upload_aborted', async () => {
    const k = await createKey(env.pool, 'trickle-co');
    expect((await client(url, k.key).registerModel('lin', linearRegression([1, 2], 0), sig)).status).toBe(201);
    const started = Date.now();
    const up = openUpload(k.key, 'trickle');
    const drip = setInterval(() => up.req.write('3,4\n'), 100);
    const status = await up.status;
    const took = Date.now() - started;
    clearInterval(drip);
    up.req.destroy();
    expect([408, -1]).toContain(status); // Node answers 408 and closes the connection
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(6000);
    let job: { status: string; error_code: string | null } | undefined;
    await until('the job to fail', async () => {
      job = (await env.pool.query(`SELECT status, error_code FROM jobs WHERE tenant_id = $1`, [k.tenantId])).rows[0];
      return job?.status === 'failed';
    });
    expect(job).toEqual({ status: 'failed', error_code: 'upload_aborted' });
    // The slots it held were given back: the same key can upload again.
    expect((await client(url, k.key).postCsv('/v1/jobs?model=lin', 'a,b\n1,2\n')).status).toBe(202);
  });
});
