// npm run fuzz [-- --requests 3000 --seconds 240 --concurrency 8 --seed 1]
//
// Sends a few thousand generated bad requests through real HTTP to an api and a worker that this
// script starts itself on 127.0.0.1, against a database and Redis prefix of its own (dropped at the
// end). Malformed CSV (unbalanced quotes, NUL bytes, invalid UTF-8, 1 MB fields, 100k columns, a BOM
// in the middle, mixed line endings), malformed multipart, malformed and deeply nested JSON, wrong
// content types, huge headers, bad ids, other tenants' ids, truncated uploads, bad keys.
// Before the random requests, issue 12's hostile cases run once each (`hostile` in the report): a
// model that allocates 2 GB from its input's shape (memory bomb: its job must fail
// model_memory_exceeded and the worker's RSS come back within 100 MB of its start), models with
// EXTERNAL-data initializers (422 external_data_not_supported, no server path), CSV formula values,
// a key with a non-ASCII byte (401), forged job cursors (400), a key in `?api_key=` (not logged in
// clear) and JSON inputs with __proto__/constructor/toString columns (own properties only).
// Reports requests sent, the status histogram, 5xx (must be 0), responses that leak internals (0),
// crashes (0), jobs stuck (0) and whether the service still answers; exits 1 if any fails.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createKey } from '../src/auth/tenants.js';
import { migrate } from '../src/db/migrate.js';
import { linearRegression } from '../test/fixtures/onnxBuilder.js';
import { externalDataModel, hostileSignature, memoryBombModel } from '../test/fixtures/hostileModels.js';
import { startApi, startWorker, type Proc } from '../test/helpers/processes.js';

const { values } = parseArgs({ options: { requests: { type: 'string' }, seconds: { type: 'string' }, concurrency: { type: 'string' }, seed: { type: 'string' } } });
const TOTAL = Number(values.requests ?? 3000);
const SECONDS = Number(values.seconds ?? 240);
const CONCURRENCY = Number(values.concurrency ?? 8);
let seed = Number(values.seed ?? 1) >>> 0 || 1;

// A small seeded PRNG, so a failing run can be repeated with the same --seed.
const rnd = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0), seed / 2 ** 32);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
const int = (n: number) => Math.floor(rnd() * n);

const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const INTERNALS = /\bat \S+ \(|\.ts:\d+|node_modules|\/work\/|\/home\/|\bSELECT\b|\bINSERT INTO\b|relation "|syntax error at|ECONNREFUSED|"stack"/i;

const runId = randomBytes(4).toString('hex');
const dbName = `sluice_fuzz_${runId}`;
const prefix = `sluice-fuzz-${runId}`;
const withDb = (url: string, db: string) => Object.assign(new URL(url), { pathname: `/${db}` }).toString();

const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const pool = new pg.Pool({ connectionString: withDb(ADMIN_URL, dbName), max: 4 });
pool.on('error', () => {});
{
  const c = await pool.connect();
  await migrate(c);
  c.release();
}
const env: Record<string, string> = {
  DATABASE_URL: withDb(ADMIN_URL, dbName), REDIS_URL, REDIS_PREFIX: prefix, WEBHOOK_ALLOW_PRIVATE: 'true',
  MODEL_CACHE_DIR: `/tmp/sluice-fuzz-models/${dbName}`, CHUNK_ROWS: '200', INFERENCE_THREADS: '1', WORKER_CONCURRENCY: '2',
  // Limits small enough that the fuzzer reaches them; rate limits out of the way (tested elsewhere).
  MAX_UPLOAD_BYTES: String(4 * 1024 * 1024), MAX_RECORD_BYTES: String(256 * 1024), MAX_COLUMNS: '2000', MAX_MODEL_BYTES: String(1024 * 1024),
  MAX_JSON_BYTES: String(256 * 1024), RATE_LIMIT_PER_SECOND: '100000', MAX_CONCURRENT_UPLOADS: '64', BODY_IDLE_TIMEOUT_MS: '2000', HEADERS_TIMEOUT_MS: '2000',
  MODEL_MEMORY_LIMIT_MB: '1024',
};
/** A process's resident set in MB, as the kernel counts it. */
const rssMb = (pid: number) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024);
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const FORGED_CURSORS = [
  b64url({ t: '2020-01-01T00:00:00Z', id: '------------------------------------' }),
  b64url({ t: '1', id: '00000000-0000-0000-0000-000000000000' }),
  b64url({ t: 'not a time', id: 'x' }),
  b64url({ t: null, id: 1 }),
  b64url([1, 2]),
];

let api: (Proc & { url: string }) | undefined;
let worker: Proc | undefined;
let crashes = 0;
let stopping = false;
const histogram = new Map<string, number>();
const fivexx: string[] = [];
const leaks: string[] = [];
let sent = 0;
const started = Date.now();
const count = (k: string) => histogram.set(k, (histogram.get(k) ?? 0) + 1);

try {
  api = await startApi(env);
  worker = await startWorker(env);
  for (const p of [api, worker]) p.child.on('exit', (code, sig) => { if (!stopping) { crashes++; console.error(`process exited: ${code ?? sig}`); } });
  const url = api.url;
  const port = Number(new URL(url).port);

  const a = await createKey(pool, 'fuzz-a');
  const b = await createKey(pool, 'fuzz-b');
  const revoked = await createKey(pool, 'fuzz-a', ['jobs:read']);
  await pool.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [revoked.id]);
  const readOnly = await createKey(pool, 'fuzz-a', ['jobs:read']);
  const sig = { columns: ['a', 'b'], task: 'regression', passthrough: ['id'] };
  const form = new FormData();
  form.set('signature', JSON.stringify(sig));
  form.set('model', new Blob([Buffer.from(linearRegression([1, 2], 0))]), 'm.onnx');
  const reg = await fetch(`${url}/v1/models/lin/versions`, { method: 'POST', body: form, headers: { authorization: `Bearer ${a.key}` } });
  if (reg.status !== 201) throw new Error(`setup: model registration answered ${reg.status}`);
  const aJob = await (await fetch(`${url}/v1/jobs?model=lin`, { method: 'POST', body: 'id,a,b\n1,1,2\n', headers: { authorization: `Bearer ${a.key}`, 'content-type': 'text/csv' } })).json();
  const aHook = await (await fetch(`${url}/v1/webhooks`, { method: 'POST', body: JSON.stringify({ url: 'http://127.0.0.1:9/h', events: ['job.completed'] }), headers: { authorization: `Bearer ${a.key}`, 'content-type': 'application/json' } })).json();

  const keys = { a: a.key, b: b.key };
  const auth = (k = keys.a) => ({ authorization: `Bearer ${k}` });
  // A key of the right shape whose checksum part holds a non-ASCII character (a latin-1 byte on the wire).
  const nonAsciiKey = `${a.key.slice(0, -1)}\u00e9`;

  // ---------- issue 12's hostile cases, once each, before the random requests ----------
  const hostile: Record<string, unknown> = {};
  const hostileFailures: string[] = [];
  const check = (name: string, ok: boolean, detail: unknown) => {
    hostile[name] = detail;
    if (!ok) hostileFailures.push(`${name}: ${JSON.stringify(detail)}`);
  };
  const note = (status: number, what: string, text: string) => {
    count(String(status));
    sent++;
    if (status >= 500) fivexx.push(`${what} → ${status} ${text.slice(0, 200)}`);
    if (INTERNALS.test(text) || text.includes(process.cwd())) leaks.push(`${what} → ${status} ${text.slice(0, 200)}`);
  };
  const call = async (what: string, path: string, init: RequestInit = {}) => {
    const res = await fetch(url + path, { ...init, headers: { ...auth(), ...(init.headers as Record<string, string>) } });
    const text = await res.text();
    note(res.status, what, text);
    return { status: res.status, text, json: (() => { try { return JSON.parse(text); } catch { return null; } })() };
  };
  const register = (name: string, onnx: Uint8Array, signature: unknown) => {
    const f = new FormData();
    f.set('signature', JSON.stringify(signature));
    f.set('model', new Blob([Buffer.from(onnx)]), `${name}.onnx`);
    return call(`register ${name}`, `/v1/models/${name}/versions`, { method: 'POST', body: f });
  };
  const waitJob = async (id: string) => {
    for (const end = Date.now() + 90_000; Date.now() < end; ) {
      const j = (await call('wait job', `/v1/jobs/${id}?wait=5`)).json;
      if (['completed', 'failed', 'cancelled'].includes(j?.status)) return j;
    }
    throw new Error(`job ${id} did not finish`);
  };
  const submit = async (model: string, csv: string) => (await call(`job ${model}`, `/v1/jobs?model=${model}`, { method: 'POST', body: csv, headers: { 'content-type': 'text/csv' } })).json;
  {
    // 1. The memory bomb, on a worker that has scored a job (its baseline) and is otherwise idle.
    await waitJob(aJob.id);
    const start = rssMb(worker.pid);
    if ((await register('bomb', memoryBombModel(), hostileSignature)).status !== 201) throw new Error('setup: the memory bomb did not register');
    let peak = start;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(worker!.pid))), 20);
    const bombed = await waitJob((await submit('bomb', 'a,b\n1,2\n')).id);
    const t0 = Date.now();
    const again = await waitJob((await submit('bomb', 'a,b\n1,2\n')).id);
    const refusedMs = Date.now() - t0;
    clearInterval(sampler);
    await new Promise((r) => setTimeout(r, 500));
    const after = rssMb(worker.pid);
    const memory = { job_error: bombed.error?.code, second_job_error: again.error?.code, second_job_ms: refusedMs, worker_rss_mb: { start, peak, after, growth: after - start } };
    check('memory_bomb', bombed.error?.code === 'model_memory_exceeded' && again.error?.code === 'model_memory_exceeded' && after - start < 100, memory);

    // 2. External data: refused, and nothing of this host in the answer.
    const ext: Record<string, unknown> = {};
    let extOk = true;
    for (const location of ['package.json', '.env', '/etc/passwd', '../../../etc/hostname']) {
      const r = await register('ext', externalDataModel(location), hostileSignature);
      ext[location] = `${r.status} ${r.json?.code}`;
      extOk &&= r.status === 422 && r.json?.code === 'external_data_not_supported' && !r.text.includes(process.cwd());
    }
    check('external_data', extOk, ext);

    // 3. CSV formula values in a passthrough column come back escaped in the CSV download.
    const formulas = ["=cmd|' /C calc'!A0", '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx'];
    const fj = await submit('lin', 'id,a,b\n' + formulas.map((f) => `"${f.replace(/"/g, '""')}",1,2`).join('\n') + '\n');
    await waitJob(fj.id);
    const csvOut = (await call('results csv', `/v1/jobs/${fj.id}/results?format=csv`)).text;
    const rawCells = formulas.filter((f) => csvOut.split('\n').some((line) => line.startsWith(f) || line.startsWith(`"${f}`)));
    const dataLines = csvOut.split('\n').slice(1).filter((l) => l.trim()).length;
    check('csv_formulas', rawCells.length === 0 && dataLines >= formulas.length, { unescaped: rawCells.length, of: formulas.length, rows_read_back: dataLines });

    // 4. A key with a non-ASCII byte: 401, not a 500 from the constant-time comparison.
    const na = await call('non-ascii key', '/v1/jobs', { headers: { authorization: `Bearer ${nonAsciiKey}` } });
    check('non_ascii_key', na.status === 401, na.status);

    // 5. Forged job cursors: 400.
    const cursors = [];
    for (const cur of FORGED_CURSORS) cursors.push((await call('forged cursor', `/v1/jobs?cursor=${cur}`)).status);
    check('forged_cursors', cursors.every((st) => st === 400), cursors);

    // 6. A key in the query string is not logged in clear.
    await fetch(`${url}/v1/jobs?api_key=${encodeURIComponent(keys.a)}&callback_url=${encodeURIComponent('https://user:pw@example.com/h')}`).then((r) => (note(r.status, '?api_key', ''), r.text()));
    await new Promise((r) => setTimeout(r, 300));
    const logged = JSON.stringify(api.logs);
    check('api_key_in_query', !logged.includes(keys.a) && !logged.includes('user:pw'), { key_in_logs: logged.includes(keys.a), callback_credentials_in_logs: logged.includes('user:pw') });

    // 7. JSON inputs read own properties only: inherited names are missing columns, never functions.
    const protoSig = { columns: ['__proto__', 'constructor'], task: 'regression', passthrough: ['toString', 'hasOwnProperty'] };
    const protoReg = await register('proto', linearRegression([1, 2], 0), protoSig);
    const outs: string[] = [];
    for (const inputs of [[{}], [JSON.parse('{"__proto__": 1, "constructor": 2, "toString": "t"}')], [{ constructor: 1 }]]) {
      const r = await call('proto inputs', '/v1/predictions', { method: 'POST', body: JSON.stringify({ model: 'proto', inputs, wait: 20 }), headers: { 'content-type': 'application/json' } });
      outs.push(`${r.status}`);
      if (r.text.includes('native code') || r.text.includes('function ')) outs.push('inherited property read');
    }
    check('json_prototype_columns', !outs.includes('inherited property read') && outs.every((st) => !st.startsWith('5')), { registered: protoReg.status, answers: outs });
  }

  // ---------- generators ----------
  const enc = (s: string) => Buffer.from(s, 'utf8');
  const header = 'id,a,b\n';
  const goodRows = (n: number) => Array.from({ length: n }, (_, i) => `${i},${int(100)},${int(100)}`).join('\n') + '\n';
  const csvBodies: (() => Buffer)[] = [
    () => enc(header + goodRows(1 + int(50))),
    () => enc(header + '1,"never closed,2\n3,4,5\n'),
    () => enc(header + '1,2,3\n"a""b,"c\n'),
    () => Buffer.concat([enc(header + '1,'), Buffer.from([0, 0, 0]), enc(',2\n')]),
    () => Buffer.concat([enc('id,a,b\n1,'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1]), enc(',3\n')]),
    () => Buffer.concat([enc('\u00ff\u00fe'), randomBytes(64 + int(2000))]),
    () => enc(header + `1,${'9'.repeat(1024 * 1024)},2\n`),
    () => enc(Array.from({ length: 100_000 }, (_, i) => `c${i}`).join(',') + '\n1\n'),
    () => enc(header + '1,2,3\n\uFEFF4,5,6\n7,8,9\n'),
    () => enc('\uFEFF' + header + '1,2,3\r\n4,5,6\r7,8,9\n\r\n10,11,12'),
    () => enc('id;a;b\n1;2;3\n'),
    () => enc(header),
    () => Buffer.alloc(0),
    () => enc(header + '1,2\n3,4,5,6,7\n,,\n"",""," "\n'),
    () => enc(header + Array.from({ length: 200 }, () => `${int(9)},${pick(['NaN', 'inf', '-', '1e999', '0x10', ' ', '"1"', '١'])},${int(9)}`).join('\n')),
    () => enc('a,a,a,b,b\n1,2,3,4,5\n'),
    () => enc('"id\n",a,b\n1,2,3\n'),
    () => randomBytes(1 + int(5000)),
  ];
  const models = ['lin', 'lin:1', 'lin:999', 'lin@production', 'nope', '../../etc/passwd', "lin' OR 1=1 --", '%00', 'x'.repeat(300), 'lin@', ':1', '🙂'];
  const badIds = ['not-a-uuid', '00000000-0000-0000-0000-000000000000', "1' OR '1'='1", '..%2F..%2Fetc%2Fpasswd', '%00', 'x'.repeat(5000), '%F0%9F%99%82', '-1', '1e309', '%zz', aJob.id, aHook.id];
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const jsonBodies: (() => string)[] = [
    () => '{"model":',
    () => deep(1 + int(100_000)),
    () => `{"model":"lin","inputs":${deep(50)}}`,
    () => JSON.stringify({ model: 'lin', inputs: Array.from({ length: 1 + int(3000) }, () => ({ id: 1, a: 1, b: 2 })) }),
    () => JSON.stringify({ model: pick(models), inputs: [{ id: 1, a: pick([1, 'x', null, 1e308, -0, '']), b: 2 }], wait: pick([0, -1, 1e9, 'x', 0.5]) }),
    () => JSON.stringify({ __proto__: { admin: true }, constructor: { prototype: { x: 1 } }, model: 'lin', inputs: [{ __proto__: 1 }] }),
    () => JSON.stringify({ model: 'lin', inputs: [{ a: 'x'.repeat(300_000) }] }),
    () => '\uFEFF{"model":"lin","inputs":[{"a":1,"b":2,"id":1}]}',
    () => '{"model":"lin","inputs":[{"a":1,"b":2,"id":1}],"model":"nope"}',
    () => 'null',
    () => '"just a string"',
    () => '{"a":' + '1'.repeat(10_000) + '}',
    () => JSON.stringify({ url: pick(['http://169.254.169.254/', 'file:///etc/passwd', 'javascript:alert(1)', 'http://[::1]:0/', 'x'.repeat(3000)]), events: pick([['job.completed'], [], ['nope'], 'job.completed']) }),
    () => JSON.stringify({ scopes: pick([['admin'], ['root'], [], 'admin', [null]]), name: 'x'.repeat(int(300)) }),
    () => JSON.stringify({ version: pick([1, 0, -1, 1.5, '1', null, 2 ** 53]) }),
    () => randomBytes(int(3000)).toString('latin1'),
  ];
  const multipartBodies: (() => { body: Buffer; type: string })[] = [
    () => ({ body: enc('--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nid,a,b\n1,2,3\n'), type: 'multipart/form-data; boundary=B' }),
    () => ({ body: enc('--B\r\nContent-Disposition: form-data; name="file"\r\n\r\nid,a,b\n1,2,3\n\r\n--B--\r\n'), type: 'multipart/form-data' }),
    () => ({ body: enc('--B\r\nContent-Disposition: form-data; name="evil"; filename="a"\r\n\r\nxx\r\n--B--\r\n'), type: 'multipart/form-data; boundary=B' }),
    () => ({ body: enc('--B\r\nContent-Disposition: form-data; name="model"\r\n\r\nlin\r\n--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n' + header + goodRows(3) + '\r\n--B\r\nContent-Disposition: form-data; name="file"; filename="b.csv"\r\n\r\n1,2,3\r\n--B--\r\n'), type: 'multipart/form-data; boundary=B' }),
    () => ({ body: enc('--B\r\nContent-Disposition: form-data; name="signature"\r\n\r\n' + deep(5000) + '\r\n--B\r\nContent-Disposition: form-data; name="model"; filename="m"\r\n\r\n' + 'garbage'.repeat(int(1000)) + '\r\n--B--\r\n'), type: 'multipart/form-data; boundary=B' }),
    () => ({ body: Buffer.concat([enc('--B\r\nContent-Disposition: form-data; name="signature"\r\n\r\n{"columns":["a","b"],"task":"regression"}\r\n--B\r\nContent-Disposition: form-data; name="model"; filename="m"\r\n\r\n'), randomBytes(int(200_000)), enc('\r\n--B--\r\n')]), type: 'multipart/form-data; boundary=B' }),
    () => ({ body: enc('--B\r\nContent-Disposition: form-data; name="model"\r\n\r\nlin\r\n--B\r\nContent-Disposition: form-data; name="x'.repeat(1) + 'y'.repeat(int(20_000)) + '"\r\n\r\nv\r\n--B--\r\n'), type: 'multipart/form-data; boundary=B' }),
    () => ({ body: randomBytes(int(4000)), type: 'multipart/form-data; boundary=' + pick(['B', '', '"', 'x'.repeat(200)]) }),
    () => ({ body: enc('--B\r\nContent-Type: text/csv\r\n\r\n1,2\r\n--B--\r\n'), type: 'multipart/form-data; boundary=B' }),
  ];
  const contentTypes = ['application/xml', 'text/html', '', 'text/csv; charset=utf-7', 'application/json; charset=koi8-r', 'multipart/mixed', 'application/octet-stream', 'text/csv; boundary=x', '*/*', 'application/x-www-form-urlencoded'];

  type Req = { method: string; path: string; headers?: Record<string, string>; body?: Buffer | string };
  const routes = {
    jobs: (m = pick(models)) => `/v1/jobs?model=${encodeURIComponent(m)}${rnd() < 0.2 ? '&callback_url=' + encodeURIComponent(pick(['http://127.0.0.1:9/x', 'http://169.254.169.254/', 'gopher://x', 'x'])) : ''}${rnd() < 0.1 ? '&delimiter=' + pick([';', 'tab', '|', '']) : ''}`,
  };
  const generators: (() => Req | 'raw')[] = [
    () => ({ method: 'POST', path: routes.jobs(rnd() < 0.7 ? 'lin' : undefined), headers: { ...auth(), 'content-type': 'text/csv' }, body: pick(csvBodies)() }),
    () => ({ method: 'POST', path: routes.jobs('lin'), headers: { ...auth(), 'content-type': 'text/csv' }, body: pick(csvBodies)() }),
    () => { const m = pick(multipartBodies)(); return { method: 'POST', path: pick([routes.jobs('lin'), '/v1/jobs', '/v1/models/fz/versions']), headers: { ...auth(), 'content-type': m.type }, body: m.body }; },
    () => ({ method: pick(['POST', 'PUT', 'PATCH']), path: pick(['/v1/predictions', '/v1/webhooks', '/v1/keys', '/v1/models/lin/aliases/prod', `/v1/webhooks/${aHook.id}`, '/v1/webhooks/default-secret/rotate', `/v1/jobs/${aJob.id}/cancel`]), headers: { ...auth(rnd() < 0.5 ? keys.a : keys.b), 'content-type': pick(['application/json', 'application/json', 'text/plain', 'application/merge-patch+json']) }, body: pick(jsonBodies)() }),
    () => ({ method: pick(['POST', 'PUT']), path: pick(['/v1/jobs?model=lin', '/v1/predictions', '/v1/models/lin/versions', '/v1/webhooks']), headers: { ...auth(), 'content-type': pick(contentTypes) }, body: pick([...csvBodies, () => enc(pick(jsonBodies)())])() }),
    () => ({ method: pick(['GET', 'GET', 'POST', 'DELETE', 'PATCH']), path: pick([`/v1/jobs/${pick(badIds)}`, `/v1/jobs/${pick(badIds)}/results?format=${pick(['csv', 'json', 'ndjson', 'xml', ''])}&cursor=${pick(['-1', 'x', '1e99', '0'])}&limit=${pick(['0', '1', '99999', 'x'])}`, `/v1/jobs/${pick(badIds)}/deliveries`, `/v1/deliveries/${pick(badIds)}/retry`, `/v1/models/${encodeURIComponent(pick(models))}`, `/v1/models/lin/versions/${pick(['1', '0', '-1', 'x', '99999999999'])}`, `/v1/webhooks/${pick(badIds)}`, `/v1/keys/${pick(badIds)}`, `/v1/jobs?status=${pick(['x', 'queued'])}&limit=${pick(['0', '-5', '201', 'x'])}&cursor=${pick(['x', 'eyJ0IjoxfQ', '%00', ...FORGED_CURSORS])}`, `/v1/audit?before=${pick(['x', '1', '-1', '99999999999999999999'])}`]), headers: auth(rnd() < 0.5 ? keys.a : keys.b) }),
    () => ({ method: pick(['GET', 'POST', 'DELETE', 'PATCH', 'PUT']), path: pick([`/v1/jobs/${aJob.id}`, `/v1/jobs/${aJob.id}/results`, `/v1/jobs/${aJob.id}/cancel`, `/v1/jobs/${aJob.id}/deliveries`, '/v1/models/lin', '/v1/models/lin/versions/1', `/v1/webhooks/${aHook.id}`, `/v1/webhooks/${aHook.id}/rotate-secret`, `/v1/keys/${a.id}`]), headers: { ...auth(keys.b), 'content-type': 'application/json' }, body: '{}' }),
    () => ({ method: 'GET', path: pick(['/v1/jobs', '/v1/models', '/v1/keys', '/v1/webhooks']), headers: pick<Record<string, string>>([{}, { authorization: 'Bearer' }, { authorization: `Bearer ${revoked.key}` }, { authorization: `Bearer ${a.key.slice(0, -1)}0` }, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, { authorization: `Bearer ${readOnly.key}` }, { authorization: 'Bearer ' + 'sluice_sk_'.padEnd(59, 'A') }, { authorization: `Bearer ${nonAsciiKey}` }]) }),
    () => 'raw',
  ];

  // ---------- raw-socket cases: truncated uploads, huge headers, garbage ----------
  const raw = (text: Buffer, endEarly: boolean): Promise<string> =>
    new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let got = '';
      const t = setTimeout(() => { s.destroy(); resolve('timeout'); }, 15_000);
      s.on('data', (d) => (got += d.toString('latin1')));
      s.on('error', () => {});
      s.on('close', () => { clearTimeout(t); resolve(/^HTTP\/1\.[01] (\d{3})/.exec(got)?.[1] ?? 'closed'); });
      s.write(text, () => { if (endEarly) s.destroy(); else s.end(); });
    });
  const rawCases: (() => Promise<string>)[] = [
    // A truncated upload: Content-Length promises more than is sent, then the connection drops.
    () => raw(Buffer.concat([enc(`POST /v1/jobs?model=lin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.a}\r\nContent-Type: text/csv\r\nContent-Length: 1000000\r\n\r\n`), enc(header + goodRows(50 + int(500)))]), true).then(() => 'truncated'),
    // Chunked encoding cut mid-chunk.
    () => raw(enc(`POST /v1/jobs?model=lin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.a}\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n${header}1,2,3\n`), true).then(() => 'truncated'),
    // Headers of 20–200 KB.
    () => raw(enc(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.a}\r\nX-Big: ${'a'.repeat(20_000 + int(180_000))}\r\n\r\n`), false),
    () => raw(enc(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`), false),
    // Not HTTP at all, and smuggling-shaped requests.
    () => raw(randomBytes(1 + int(3000)), false),
    () => raw(enc(`POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`), false),
    () => raw(enc(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.a}\r\nAuthorization: Bearer ${keys.b}\r\n\r\n`), false),
    // Methods and request targets a browser-grade client refuses to send.
    () => raw(enc(`${pick(['PROPFIND', 'OPTIONS', 'TRACE', 'CONNECT', 'FOO', 'get'])} ${pick(['/v1/jobs', '/', '/healthz', '*', 'http://evil/v1/jobs', '/v1/jobs/%zz', '//v1//jobs'])} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.a}\r\nConnection: close\r\n\r\n`), false),
  ];

  // ---------- run ----------
  const deadline = started + SECONDS * 1000;
  const one = async () => {
    const g = pick(generators)();
    sent++;
    if (g === 'raw') {
      const status = await pick(rawCases)();
      count(status);
      if (status.startsWith('5')) fivexx.push(`raw → ${status}`);
      return;
    }
    try {
      const body = g.method === 'GET' ? undefined : (g.body as BodyInit | undefined);
      const res = await fetch(url + g.path, { method: g.method, headers: g.headers, body, signal: AbortSignal.timeout(30_000) });
      const text = await res.text().catch(() => '');
      count(String(res.status));
      if (process.env.FUZZ_VERBOSE && res.status === 429) console.error(g.method, g.path.slice(0, 60), text.slice(0, 160));
      if (res.status >= 500) fivexx.push(`${g.method} ${g.path.slice(0, 80)} → ${res.status} ${text.slice(0, 200)}`);
      if (INTERNALS.test(text) && res.status !== 200) leaks.push(`${g.method} ${g.path.slice(0, 80)} → ${res.status} ${text.slice(0, 200)}`);
    } catch (err) {
      // The server may answer 413/4xx and close while the client is still sending: a reset, not a 5xx.
      const e = err as Error & { cause?: { code?: string; message?: string } };
      count(`client-error:${e.cause?.code ?? e.name}`);
      if (process.env.FUZZ_VERBOSE) console.error(g.method, g.path.slice(0, 60), e.message, e.cause?.message);
    }
  };
  const lanes = Array.from({ length: CONCURRENCY }, async () => {
    while (sent < TOTAL && Date.now() < deadline && crashes === 0) await one();
  });
  await Promise.all(lanes);

  // ---------- afterwards ----------
  const fuzzSeconds = (Date.now() - started) / 1000;
  // Every job must reach a final status: wait (bounded) for the worker to drain what was accepted.
  const settleBy = Date.now() + 90_000;
  let unfinished = Infinity;
  while (Date.now() < settleBy) {
    unfinished = (await pool.query(`SELECT count(*)::int AS n FROM jobs WHERE status IN ('receiving', 'queued', 'running')`)).rows[0].n;
    if (unfinished === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const jobs = (await pool.query(`SELECT status, count(*)::int AS n FROM jobs GROUP BY status ORDER BY status`)).rows;
  const orphans = (await pool.query(`SELECT count(*)::int AS n FROM jobs j WHERE status = 'completed' AND rows_succeeded + rows_failed <> rows_total`)).rows[0].n;
  const ready = await fetch(`${url}/readyz`).then((r) => r.status, () => 0);
  const pred = await fetch(`${url}/v1/predictions`, { method: 'POST', body: JSON.stringify({ model: 'lin', inputs: [{ id: 'x', a: 1, b: 2 }], wait: 20 }), headers: { ...auth(), 'content-type': 'application/json' } });
  const predBody = await pred.json().catch(() => null);
  const answering = ready === 200 && pred.status === 200 && predBody?.predictions?.[0]?.prediction === 5;

  const report = {
    command: `npm run fuzz -- --requests ${TOTAL} --seconds ${SECONDS} --concurrency ${CONCURRENCY} --seed ${values.seed ?? 1}`,
    requests_sent: sent,
    seconds: Math.round(fuzzSeconds),
    status_histogram: Object.fromEntries([...histogram].sort()),
    '5xx': fivexx.length,
    leaks: leaks.length,
    crashes,
    jobs_by_status: Object.fromEntries(jobs.map((r) => [r.status, r.n])),
    jobs_stuck: unfinished,
    jobs_with_missing_rows: orphans,
    still_answering: answering,
    hostile,
    hostile_failures: hostileFailures.length,
  };
  console.log(JSON.stringify(report, null, 2));
  for (const l of [...fivexx, ...leaks, ...hostileFailures].slice(0, 20)) console.error(l);
  if (fivexx.length || leaks.length || crashes || unfinished || orphans || !answering || hostileFailures.length) process.exitCode = 1;
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  stopping = true;
  await api?.stop();
  await worker?.stop();
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  const r = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, found] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (found.length) await r.del(...found);
  } while (cursor !== '0');
  r.disconnect();
}
