import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api.js';
import { createKey } from '../../src/auth/tenants.js';
import { serverOptions } from '../../src/http/serverOptions.js';
import { assertJsonDepth } from '../../src/http/limits.js';
import { linearRegression, notOnnx } from '../fixtures/onnxBuilder.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { expectProblem } from '../helpers/problem.js';

// Every limit answers with a clear problem+json, and the server keeps serving. The api runs behind
// an http.Server built with serverOptions(config), as startApi (src/api.ts) builds it.
let env: TestEnv;
let api: Awaited<ReturnType<typeof buildApi>>;
let server: Server;
let url: string;
let c: ReturnType<typeof client>;
const sig = { columns: ['a', 'b'], task: 'regression' };

beforeAll(async () => {
  env = await createTestEnv({
    MAX_UPLOAD_BYTES: '20000', MAX_ROWS_PER_JOB: '50', MAX_COLUMNS: '10', MAX_RECORD_BYTES: '1024', MAX_MODEL_BYTES: '4096',
    MAX_PREDICTION_RECORDS: '5', MAX_JSON_BYTES: '4096', MAX_JSON_DEPTH: '8', RATE_LIMIT_PER_SECOND: '1000',
    MAX_CONCURRENT_UPLOADS: '1', MAX_QUEUED_ROWS_PER_TENANT: '100', HEADERS_TIMEOUT_MS: '600', BODY_IDLE_TIMEOUT_MS: '600',
  });
  api = await buildApi(env.config);
  server = createServer(serverOptions(env.config), api.app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  c = client(url, (await createKey(env.pool, 'acme')).key);
  expect((await c.registerModel('lin', linearRegression([1, 2], 0), sig)).status).toBe(201);
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await api?.close();
  await env?.close();
});

const rows = (n: number) => 'a,b\n' + Array.from({ length: n }, (_, i) => `${i},${i + 1}`).join('\n') + '\n';

describe('upload limits', () => {
  it('upload size: 413 from the declared length before reading, and 413 for a chunked body that grows too big', async () => {
    const big = 'a,b\n' + '1,2\n'.repeat(6000);
    const body = await expectProblem(await c.postCsv('/v1/jobs?model=lin', big), 413, 'payload_too_large');
    expect(body.detail).toMatch(/MAX_UPLOAD_BYTES/);
    const stream = new ReadableStream({ start(ctl) { ctl.enqueue(new TextEncoder().encode(big)); ctl.close(); } });
    const res = await fetch(`${url}/v1/jobs?model=lin`, { method: 'POST', body: stream, headers: { authorization: await keyHeader(), 'content-type': 'text/csv' }, duplex: 'half' } as RequestInit);
    await expectProblem(res, 413, 'payload_too_large');
  });
  it('rows per job, columns per row, bytes per record → 422 with the limit named', async () => {
    expect((await expectProblem(await c.postCsv('/v1/jobs?model=lin', rows(51)), 422, 'too_many_rows')).detail).toMatch(/MAX_ROWS_PER_JOB/);
    const wide = Array.from({ length: 11 }, (_, i) => `c${i}`).join(',') + '\n' + '1,'.repeat(10) + '1\n';
    expect((await expectProblem(await c.postCsv('/v1/jobs?model=lin', wide), 422, 'too_many_columns')).detail).toMatch(/MAX_COLUMNS/);
    await expectProblem(await c.postCsv('/v1/jobs?model=lin', `a,b\n1,${'9'.repeat(2000)}\n`), 422, 'record_too_large');
    // None of them left a job that will be scored.
    const { rows: left } = await env.pool.query(`SELECT count(*)::int AS n FROM jobs WHERE status IN ('receiving', 'queued')`);
    expect(left[0].n).toBe(0);
  });
  it('model file size → 413; multipart takes exactly the expected fields', async () => {
    await expectProblem(await c.registerModel('huge', new Uint8Array(5000), sig), 413, 'payload_too_large');
    const form = (parts: [string, string | Blob][]) => {
      const f = new FormData();
      for (const [k, v] of parts) f.append(k, v);
      return f;
    };
    const model = new Blob([Buffer.from(linearRegression([1, 2], 0))]);
    const post = (f: FormData) => c.post('/v1/models/m2/versions', f);
    expect((await expectProblem(await post(form([['signature', JSON.stringify(sig)], ['extra', 'x'], ['model', model]])), 400, 'validation_failed')).detail).toMatch(/Unexpected form field "extra"/);
    expect((await expectProblem(await post(form([['signature', JSON.stringify(sig)], ['signature', '{}'], ['model', model]])), 400, 'validation_failed')).detail).toMatch(/more than once/);
    await expectProblem(await post(form([['signature', JSON.stringify(sig)], ['weights', model]])), 400, 'validation_failed');
    await expectProblem(await c.post('/v1/jobs?model=lin', form([['notes', 'x'], ['file', new Blob(['a,b\n1,2\n'])]])), 400, 'validation_failed');
    // A body cut before its closing boundary.
    await expectProblem(await c.post('/v1/jobs?model=lin', '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na,b\n1,2\n', { 'content-type': 'multipart/form-data; boundary=XX' }), 400, 'bad_request');
    expect((await post(form([['signature', JSON.stringify(sig)], ['description', 'ok'], ['model', model]]))).status).toBe(201);
  });
  it('hostile model files get 422 invalid_model and the api keeps serving', async () => {
    const valid = linearRegression([1, 2], 0);
    for (const bytes of [notOnnx, valid.slice(0, valid.length >> 1), new Uint8Array(3000).fill(0xff), Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])]) {
      const body = await expectProblem(await c.registerModel('evil', bytes, sig), 422, 'invalid_model');
      expect(body.detail).toMatch(/not a usable ONNX model/);
    }
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});

let cachedAuth = '';
async function keyHeader() {
  if (!cachedAuth) cachedAuth = `Bearer ${(await createKey(env.pool, 'acme')).key}`;
  return cachedAuth;
}

describe('JSON limits', () => {
  it('body size → 413, nesting depth → 400 json_too_deep, records per call → 400', async () => {
    await expectProblem(await c.postJson('/v1/predictions', { model: 'lin', inputs: [{ a: 1, b: 'x'.repeat(5000) }] }), 413, 'payload_too_large');
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const body = await expectProblem(await c.post('/v1/predictions', `{"model":"lin","inputs":${deep(20)}}`, { 'content-type': 'application/json' }), 400, 'json_too_deep');
    expect(body.detail).toMatch(/MAX_JSON_DEPTH/);
    await expectProblem(await c.post('/v1/predictions', deep(2000), { 'content-type': 'application/json' }), 400, 'json_too_deep');
    await expectProblem(await c.postJson('/v1/predictions', { model: 'lin', inputs: Array(6).fill({ a: 1, b: 2 }) }), 400, 'validation_failed');
    // Brackets inside strings are not nesting.
    expect(() => assertJsonDepth(Buffer.from(JSON.stringify({ s: '[[[[[[[[[[[[[[[[[["\\' })), 3)).not.toThrow();
    expect(() => assertJsonDepth(Buffer.from('{"a":{"b":{"c":{}}}}'), 3)).toThrow(/deeper than 3/);
  });
});

describe('quotas and concurrency', () => {
  it('a tenant over its queued-row cap gets 429 quota_exceeded; other tenants are unaffected; room comes back as jobs end', async () => {
    const busy = client(url, (await createKey(env.pool, 'busy')).key);
    const calm = client(url, (await createKey(env.pool, 'calm')).key);
    expect((await busy.registerModel('lin', linearRegression([1, 2], 0), sig)).status).toBe(201);
    expect((await calm.registerModel('lin', linearRegression([1, 2], 0), sig)).status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await busy.postCsv('/v1/jobs?model=lin', rows(40));
      expect(res.status).toBe(202);
      ids.push((await res.json()).id);
    }
    const body = await expectProblem(await busy.postCsv('/v1/jobs?model=lin', rows(1)), 429, 'quota_exceeded');
    expect(body).toMatchObject({ queued_rows: 120, max_queued_rows: 100 });
    await expectProblem(await busy.postJson('/v1/predictions', { model: 'lin', inputs: [{ a: 1, b: 2 }] }), 429, 'quota_exceeded');
    expect((await calm.postCsv('/v1/jobs?model=lin', rows(40))).status).toBe(202);
    for (const id of ids.slice(0, 1)) expect((await busy.post(`/v1/jobs/${id}/cancel`)).status).toBe(200);
    expect((await busy.postCsv('/v1/jobs?model=lin', rows(1))).status).toBe(202);
  });

  it('one upload at a time per key (MAX_CONCURRENT_UPLOADS=1): the second gets 429 with Retry-After, and the slot comes back', async () => {
    const auth = await keyHeader();
    let ctl!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({ start: (x) => void (ctl = x) });
    ctl.enqueue(new TextEncoder().encode('a,b\n1,2\n'));
    const first = fetch(`${url}/v1/jobs?model=lin`, { method: 'POST', body: stream, headers: { authorization: auth, 'content-type': 'text/csv' }, duplex: 'half' } as RequestInit);
    // The first upload holds its slot once its job exists (receiving).
    let receiving = false;
    for (let i = 0; i < 1000 && !receiving; i++) {
      const { rows: r } = await env.pool.query(`SELECT 1 FROM jobs WHERE status = 'receiving'`);
      receiving = r.length > 0;
      if (!receiving) await new Promise((res) => setTimeout(res, 10));
    }
    expect(receiving).toBe(true);
    const second = await fetch(`${url}/v1/jobs?model=lin`, { method: 'POST', body: 'a,b\n1,2\n', headers: { authorization: auth, 'content-type': 'text/csv' } });
    const body = await expectProblem(second, 429, 'rate_limited');
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(body.detail).toMatch(/MAX_CONCURRENT_UPLOADS/);
    // Reads are not uploads.
    expect((await fetch(`${url}/v1/jobs`, { headers: { authorization: auth } })).status).toBe(200);
    ctl.enqueue(new TextEncoder().encode('3,4\n'));
    ctl.close();
    expect((await first).status).toBe(202);
    // The slot is given back in Redis once the first response is done: wait for exactly that.
    const keyId = (await env.pool.query(`SELECT id FROM api_keys WHERE digest = sha256($1::bytea)`, [Buffer.from(auth.slice(7))])).rows[0].id;
    const redis = new Redis(env.config.redisUrl);
    let held = 1;
    for (let i = 0; i < 300 && held > 0; i++) {
      held = Number(await redis.get(`${env.config.redisPrefix}:rl:up:${keyId}`));
      if (held > 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(held).toBe(0); // the refused second upload did not keep a slot either
    redis.disconnect();
    const third = await fetch(`${url}/v1/jobs?model=lin`, { method: 'POST', body: 'a,b\n1,2\n', headers: { authorization: auth, 'content-type': 'text/csv' } });
    expect(third.status).toBe(202);
  });
});

describe('slow clients', () => {
  const raw = async (text: string) => {
    const sock = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(sock, 'connect');
    let received = '';
    sock.on('data', (d) => (received += d));
    sock.write(text);
    // The test never ends or destroys this socket: when it closes, the server closed it.
    await once(sock, 'close');
    return { received };
  };

  it('headers that never finish: the connection is closed after HEADERS_TIMEOUT_MS', async () => {
    const { received } = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    // The server's own timeout answered (nothing else in it sends a 408), and the request never reached the route.
    expect(received).toMatch(/^HTTP\/1\.1 408/);
    expect(received).not.toMatch(/^HTTP\/1\.1 200/m);
  });

  it('a body that stops arriving: the connection is cut after BODY_IDLE_TIMEOUT_MS and the job ends failed, not stuck', async () => {
    const auth = `Bearer ${(await createKey(env.pool, 'slow')).key}`;
    const slow = client(url, auth.slice(7));
    expect((await slow.registerModel('lin', linearRegression([1, 2], 0), sig)).status).toBe(201);
    const head = `POST /v1/jobs?model=lin HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: text/csv\r\nContent-Length: 10000\r\n\r\n`;
    const { received } = await raw(head + 'a,b\n1,2\n3,4\n');
    expect(received).not.toMatch(/^HTTP\/1\.1 202/m); // never accepted as a job
    const tenant = (await env.pool.query(`SELECT id FROM tenants WHERE name = 'slow'`)).rows[0].id;
    let status = 'receiving';
    for (let i = 0; i < 200 && status === 'receiving'; i++) {
      status = (await env.pool.query(`SELECT status FROM jobs WHERE tenant_id = $1`, [tenant])).rows[0]?.status ?? 'receiving';
      if (status === 'receiving') await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe('failed');
    expect((await slow.get('/v1/jobs')).status).toBe(200);
  });

  it('an upload whose client vanishes while its key is being checked gives its upload slot back', async () => {
    const { key, id } = await createKey(env.pool, 'vanish');
    const sock = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(sock, 'connect');
    sock.write(`POST /v1/jobs?model=lin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\na,b\n`, () => sock.destroy());
    await once(sock, 'close');
    const redis = new Redis(env.config.redisUrl);
    const slot = `${env.config.redisPrefix}:rl:up:${id}`;
    // The slot is taken (the middleware ran) and then given back.
    let held: string | null = null;
    for (let i = 0; i < 300 && held !== '0'; i++) {
      held = await redis.get(slot);
      if (held !== '0') await new Promise((r) => setTimeout(r, 10));
    }
    redis.disconnect();
    expect(held).toBe('0');
  });

  it('a header block over MAX_HEADER_BYTES → 431 from the server', async () => {
    const res = await fetch(`${url}/healthz`, { headers: { 'x-big': 'y'.repeat(20_000) } });
    expect(res.status).toBe(431);
  });
});
