import { createParser } from 'eventsource-parser';
import { once } from 'node:events';
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { freePort, killAll, startApi, startWorker, type Proc } from '../helpers/processes.js';

// Debian's nginx, configured from deploy/nginx as compose configures the official image, in front
// of two real api processes and a worker (docs/deploy.md, "Compose: a load balancer in front of
// several apis"). What would break: nginx spooling an upload to disk before the api sees a byte
// (proxy_request_buffering on), events held back (proxy_buffering on), X-Request-Id lost or
// replaced, a client's made-up X-Forwarded-For believed, or a rolling restart of the apis failing
// requests (a POST answered 502, or a 503 that never succeeds on retry).

const ROWS = 200_000;
const HEARTBEAT_MS = 300;
// Long enough to see an api go unready while it still serves; short enough to keep the test quick.
const DRAIN_MS = 800;

let t: TestEnv;
let nginx: Nginx;
let worker: Proc;
const apis: (Proc & { url: string; port: number })[] = [];
let key: string;

async function startApiOn(port: number) {
  const p = await startApi(t.env, { PORT: String(port) });
  return Object.assign(p, { port });
}

beforeAll(async () => {
  // nginx connects to the apis from 127.0.0.1: the only proxy they trust.
  t = await createTestEnv({ TRUST_PROXY: '127.0.0.1', SSE_HEARTBEAT_MS: String(HEARTBEAT_MS), SHUTDOWN_DRAIN_MS: String(DRAIN_MS) });
  const ports = [await freePort(), await freePort()];
  for (const port of ports) apis.push(await startApiOn(port));
  worker = await startWorker(t.env);
  nginx = await startNginx({ apis: ports.map((p) => `127.0.0.1:${p}`), port: await freePort(), env: { SSE_HEARTBEAT_MS: String(HEARTBEAT_MS) } });
  ({ key } = await createKey(t.pool, 'acme'));
  // Registered through nginx: a multipart upload of a model file takes the same road as a CSV.
  const res = await client(nginx.url, key).registerModel('m', linearRegression([1, 2], 0), { columns: ['a', 'b'], task: 'regression' });
  expect(res.status, await res.clone().text()).toBe(201);
});

afterAll(async () => {
  await nginx?.stop();
  for (const p of [worker, ...apis]) await p?.stop();
  await killAll();
  await t?.close();
});

/** Resolves once `check` holds (polled: the condition lives in another process or in Postgres), failing after `ms`. */
async function until(check: () => Promise<boolean> | boolean, what: string, ms = 20_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One request with node:http (a chosen source address, a body written piece by piece). */
function rawRequest(url: string, opts: { method?: string; headers?: Record<string, string>; localAddress?: string }) {
  const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.localAddress, agent: false });
  const response = (once(req, 'response') as Promise<[http.IncomingMessage]>).then(async ([res]) => {
    let body = '';
    for await (const c of res) body += c;
    return { status: res.statusCode!, headers: res.headers, body };
  });
  return { req, response };
}

it('a 200,000-row upload streams through nginx to an api (stored while still being sent), its events arrive live, and its results come back', async () => {
  const auth = { authorization: `Bearer ${key}` };
  const lines = Array.from({ length: ROWS }, (_, i) => `${i},${i % 7}\n`);
  const half = ROWS / 2;
  const { req, response } = rawRequest(`${nginx.url}/v1/jobs?model=m`, { method: 'POST', headers: { ...auth, 'content-type': 'text/csv', 'transfer-encoding': 'chunked' } });
  req.write(`a,b\n${lines.slice(0, half).join('')}`);
  // Half the body sent and the request not ended: an api has already stored chunks of it. With
  // proxy_request_buffering on, nginx would hold the whole body until the client finished and
  // this would time out.
  const storedWhileSending = async () => (await t.pool.query(`SELECT count(*)::int AS n FROM job_chunks c JOIN jobs j ON j.id = c.job_id WHERE NOT j.upload_complete`)).rows[0].n > 0;
  await until(storedWhileSending, 'chunks stored before the upload ended');
  req.end(lines.slice(half).join(''));
  const res = await response;
  expect(res.status, res.body).toBe(202);
  const id = JSON.parse(res.body).id as string;
  // Nothing was spooled: no request body (or response) file under nginx's temp paths.
  expect(nginx.tempFiles()).toEqual([]);

  // Live progress through nginx: events and heartbeats arrive while the job runs.
  const ctrl = new AbortController();
  const sse = await fetch(`${nginx.url}/v1/jobs/${id}/events`, { headers: { ...auth, accept: 'text/event-stream' }, signal: ctrl.signal });
  expect(sse.status).toBe(200);
  expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: { type: string; job: any }[] = [];
  let heartbeats = 0;
  const parser = createParser({ onEvent: (e) => events.push({ type: e.event ?? 'message', job: JSON.parse(e.data) }), onComment: () => heartbeats++ });
  const decoder = new TextDecoder();
  for await (const chunk of sse.body as unknown as AsyncIterable<Uint8Array>) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (events.some((e) => ['completed', 'failed', 'cancelled'].includes(e.type))) break;
  }
  ctrl.abort();
  const final = events.at(-1)!;
  expect(final.type).toBe('completed');
  expect(final.job.rows).toMatchObject({ total: ROWS, succeeded: ROWS, failed: 0 });
  // The job took longer than a heartbeat interval, and the stream was held open meanwhile.
  expect(events.length + heartbeats).toBeGreaterThan(1);

  // The results, read back whole through nginx (unbuffered): every row once, scored a + 2b.
  const results = await fetch(`${nginx.url}/v1/jobs/${id}/results`, { headers: { ...auth, accept: 'text/csv' } });
  expect(results.status).toBe(200);
  const out = (await results.text()).trim().split('\n');
  expect(out.length).toBe(ROWS + 1);
  const header = out[0].split(',');
  const [rowCol, predCol] = [header.indexOf('row'), header.indexOf('prediction')];
  for (const n of [1, 2, 99_999, ROWS]) {
    const cells = out.find((l) => l.split(',')[rowCol] === String(n))!.split(',');
    const [a, b] = [n - 1, (n - 1) % 7];
    expect(Number(cells[predCol])).toBeCloseTo(a + 2 * b, 1);
  }
  expect(nginx.tempFiles()).toEqual([]);
}, 120_000);

it('X-Request-Id: a client\'s valid id reaches the api and comes back; an invalid one or none is replaced by nginx\'s own, which the api uses too', async () => {
  const auth = { authorization: `Bearer ${key}` };
  const given = await fetch(`${nginx.url}/v1/models`, { headers: { ...auth, 'x-request-id': 'trace-abc.123' } });
  expect(given.status).toBe(200);
  expect(given.headers.get('x-request-id')).toBe('trace-abc.123');
  const none = await fetch(`${nginx.url}/v1/models`, { headers: auth });
  const generated = none.headers.get('x-request-id')!;
  expect(generated).toMatch(/^[0-9a-f]{32}$/);
  const invalid = await fetch(`${nginx.url}/v1/models`, { headers: { ...auth, 'x-request-id': 'has spaces & <tags>' } });
  expect(invalid.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
  // Exactly one X-Request-Id on the way back (the api's copy is replaced by nginx's, the same id).
  expect(given.headers.get('x-request-id')!.includes(',')).toBe(false);
  // The api logged each request under the same id nginx logged and returned (its log line is
  // written as the answer goes out, so it may reach us just after the answer).
  const apiIds = () => new Set(apis.flatMap((a) => a.logs).map((l) => (l.req as { id?: string } | undefined)?.id));
  for (const id of ['trace-abc.123', generated, invalid.headers.get('x-request-id')!]) {
    await until(() => apiIds().has(id), `the api's log line for ${id}`, 5_000);
    expect(nginx.accessLog().some((r) => r.request_id === id && r.status === 200)).toBe(true);
  }
});

it('the api takes the client address from nginx (TRUST_PROXY) and never from the client: a made-up X-Forwarded-For is overwritten, and ignored when sent to the api directly', async () => {
  const signIn = (url: string) => rawRequest(`${url}/v1/sessions`, {
    method: 'POST', localAddress: '127.0.0.2', headers: { 'content-type': 'application/json', 'x-forwarded-for': '6.6.6.6', 'x-request-id': `ip-${url.length}-${Date.now()}` },
  });
  for (const url of [nginx.url, apis[0].url]) {
    const { req, response } = signIn(url);
    req.end(JSON.stringify({ key }));
    const res = await response;
    expect(res.status, res.body).toBe(201);
    const audit = await (await fetch(`${nginx.url}/v1/audit`, { headers: { authorization: `Bearer ${key}` } })).json();
    const entry = audit.data.find((e: any) => e.request_id === res.headers['x-request-id']);
    // Through nginx the api's peer is 127.0.0.1 (trusted) and X-Forwarded-For is nginx's, naming
    // the real client; directly, the peer 127.0.0.2 is no trusted proxy and its header is ignored.
    expect(entry?.ip, JSON.stringify(audit.data.slice(0, 3))).toBe('127.0.0.2');
  }
});

it('a rolling restart of both apis under a steady 50 predictions/s: every request succeeds with the right answer, at worst after retried 503s', async () => {
  const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const tally = { sent: 0, ok: 0, retried503: 0, why503: new Map<string, number>(), failed: [] as string[] };
  /** One prediction; a 503 (nothing reached an api, or an api refused before acting) is retried after Retry-After. */
  const predict = async (i: number) => {
    tally.sent++;
    for (let attempt = 0; attempt < 20; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${nginx.url}/v1/predictions`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'm', inputs: [{ a: i, b: 1 }], wait: 10 }) });
      } catch (err) {
        tally.failed.push(`#${i}: ${(err as Error).message}`);
        return;
      }
      const body = await res.text();
      if (res.status === 503) {
        tally.retried503++;
        const why = /"detail":"([^"]*)"/.exec(body)?.[1] ?? body.slice(0, 80);
        tally.why503.set(why, (tally.why503.get(why) ?? 0) + 1);
        // A tenth of Retry-After: the client's rule, on the test's shorter clock.
        await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 100));
        continue;
      }
      const j = res.status === 200 ? JSON.parse(body) : null;
      if (j?.status === 'completed' && Math.abs(j.predictions[0].prediction - (i + 2)) < 1e-3) tally.ok++;
      else tally.failed.push(`#${i}: ${res.status} ${body.slice(0, 300)}`);
      return;
    }
    tally.failed.push(`#${i}: still 503 after 20 attempts`);
  };
  const inFlight: Promise<void>[] = [];
  let i = 0;
  const load = setInterval(() => inFlight.push(predict(i++)), 20);
  const drainsSeen: boolean[] = [];
  try {
    await until(() => tally.ok >= 25, 'the load to be flowing');
    for (let k = 0; k < apis.length; k++) {
      const old = apis[k];
      old.child.kill('SIGTERM');
      // Unready at once, while it still serves (a balancer polling /readyz stops sending here).
      let drained = false;
      const direct = async (path: string) => {
        const { req, response } = rawRequest(old.url + path, {});
        req.end();
        return response.catch(() => null);
      };
      await until(async () => {
        const r = await direct('/readyz');
        if (r?.status === 503 && JSON.parse(r.body).status === 'draining') {
          drained = (await direct('/healthz'))?.status === 200;
          return true;
        }
        return r === null; // already gone: the drain was missed (fails below)
      }, 'the api to answer /readyz 503 draining');
      drainsSeen.push(drained);
      expect(await old.exited, JSON.stringify(old.logs.slice(-6))).toBe(0);
      apis[k] = await startApiOn(old.port);
      const logsBefore = nginx.accessLog().length;
      // Roll the next one only once nginx is sending to this one again (fail_timeout over).
      await until(() => nginx.accessLog().slice(logsBefore).some((r) => String(r.upstream).endsWith(`:${old.port}`) && r.upstream_status === '200'), `nginx to use the restarted api on ${old.port}`, 60_000);
    }
  } finally {
    clearInterval(load);
    await Promise.all(inFlight);
  }
  // What nginx absorbed itself: predictions it moved to the other api (refused, or reset as a port closed).
  const movedByNginx = nginx.accessLog().filter((r) => r.path === '/v1/predictions' && String(r.upstream_status).includes(',')).length;
  console.log(`rolling restart: ${tally.sent} predictions, ${tally.ok} ok, ${tally.retried503} 503s retried by the client, ${movedByNginx} moved to the other api by nginx, ${tally.failed.length} failed${tally.why503.size ? `; the 503s: ${JSON.stringify([...tally.why503])}` : ''}`);
  expect(drainsSeen).toEqual([true, true]);
  const failedIds = tally.failed.map((f) => /request_id\\":\\"(\w+)/.exec(JSON.stringify(f))?.[1]);
  expect(tally.failed, JSON.stringify(nginx.accessLog().filter((r) => failedIds.includes(String(r.request_id)))) + nginx.errorLog().split('\n').filter((l) => !/Connection refused|no live upstreams|temporarily disabled/.test(l)).slice(-10).join('\n')).toEqual([]);
  expect(tally.ok).toBe(tally.sent);
  expect(tally.sent).toBeGreaterThan(200);
}, 240_000);
