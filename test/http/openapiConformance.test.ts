import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { apiForTenant, type ApiForTenant } from '../helpers/api.js';
import { startWorkerInProcess, type InProcessWorker } from '../helpers/worker.js';

// The contract holds: real responses of the main routes, success and problem, fit the schema
// /openapi.json documents for their method, path, status and media type (validated with ajv, as a
// generated client would trust them). A status the document does not declare fails too.

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>; components: { schemas: Record<string, unknown> } };

let t: ApiForTenant;
let c: ApiForTenant['c'];
let worker: InProcessWorker;
let doc: Doc;
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as { default: (a: Ajv2020) => void }).default?.(ajv) ?? (addFormats as unknown as (a: Ajv2020) => void)(ajv);
const checked = new Set<string>();

beforeAll(async () => {
  t = await apiForTenant();
  c = t.c;
  worker = await startWorkerInProcess(t.env.env);
  doc = await (await fetch(`${t.api.url}/openapi.json`)).json();
  ajv.addSchema({ $id: 'sluice', components: doc.components });
  expect((await c.registerModel('m', linearRegression([1, 2], 0), { columns: ['a', 'b'], task: 'regression' })).status).toBe(201);
});
afterAll(async () => {
  await worker?.close();
  await t?.close();
});

/** Validates the response against the document for `method path` (a documented path template) and returns its body. */
async function conforms(res: Response, method: string, path: string): Promise<any> {
  const op = doc.paths[path]?.[method];
  expect(op, `${method.toUpperCase()} ${path} is documented`).toBeDefined();
  const declared = op.responses[String(res.status)];
  const text = await res.text();
  expect(declared, `${method.toUpperCase()} ${path} declares ${res.status} (body: ${text.slice(0, 300)})`).toBeDefined();
  checked.add(`${method} ${path} ${res.status}`);
  if (res.status === 204) {
    expect(declared.content).toBeUndefined();
    expect(text).toBe('');
    return undefined;
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0].trim();
  const media = declared.content?.[type];
  expect(media, `${method.toUpperCase()} ${path} ${res.status} declares ${type}`).toBeDefined();
  const body = JSON.parse(text);
  const validate = ajv.compile({ $ref: `sluice${(media!.schema as { $ref: string }).$ref}` });
  expect(validate(body), `${method.toUpperCase()} ${path} ${res.status}: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`).toBe(true);
  return body;
}

it('the document itself validates as served, with a schema for every JSON response it declares', async () => {
  const body = await conforms(await fetch(`${t.api.url}/openapi.json`), 'get', '/openapi.json');
  for (const [path, ops] of Object.entries(body.paths as Doc['paths'])) {
    for (const [method, op] of Object.entries(ops)) {
      for (const [status, r] of Object.entries(op.responses)) {
        for (const [type, m] of Object.entries(r.content ?? {})) if (type === 'application/json' || type === 'application/problem+json') expect(m.schema, `${method} ${path} ${status} ${type}`).toHaveProperty('$ref');
      }
    }
  }
  await conforms(await fetch(`${t.api.url}/healthz`), 'get', '/healthz');
});

it('jobs: submit, get, list, results page, cancel', async () => {
  const job = await conforms(await c.postCsv('/v1/jobs?model=m', 'a,b\n1,2\n3,x\n'), 'post', '/v1/jobs');
  const done = await c.waitForJob(job.id);
  expect(done.status).toBe('completed');
  await conforms(await c.get(`/v1/jobs/${job.id}`), 'get', '/v1/jobs/{id}');
  await conforms(await c.get('/v1/jobs?limit=5'), 'get', '/v1/jobs');
  const page = await conforms(await c.get(`/v1/jobs/${job.id}/results?format=json`), 'get', '/v1/jobs/{id}/results');
  expect(page.data).toHaveLength(2);
  await conforms(await c.get(`/v1/jobs/${job.id}/results?format=json&only=errors`), 'get', '/v1/jobs/{id}/results');
  // NDJSON: each line is a ResultRow.
  const ndjson = await c.get(`/v1/jobs/${job.id}/results?format=ndjson`);
  expect(doc.paths['/v1/jobs/{id}/results'].get.responses['200'].content).toHaveProperty('application/x-ndjson');
  const row = ajv.compile({ $ref: 'sluice#/components/schemas/ResultRow' });
  const lines = (await ndjson.text()).trim().split('\n').map((l) => JSON.parse(l));
  expect(lines).toHaveLength(2);
  for (const l of lines) expect(row(l), ajv.errorsText(row.errors)).toBe(true);
  await conforms(await c.get(`/v1/jobs/${job.id}/deliveries`), 'get', '/v1/jobs/{id}/deliveries');
  // A finished job cannot be cancelled (409); a fresh one is (200).
  await conforms(await c.post(`/v1/jobs/${job.id}/cancel`), 'post', '/v1/jobs/{id}/cancel');
  const other = await conforms(await c.postCsv('/v1/jobs?model=m', 'a,b\n1,2\n'), 'post', '/v1/jobs');
  const cancelled = await c.post(`/v1/jobs/${other.id}/cancel`);
  await conforms(cancelled, 'post', '/v1/jobs/{id}/cancel');
});

it('predictions: inline (200) and accepted (202)', async () => {
  const inline = await conforms(await c.postJson('/v1/predictions', { model: 'm', inputs: [{ a: 1, b: 2 }], wait: 10 }), 'post', '/v1/predictions');
  expect(inline.predictions).toHaveLength(1);
  await conforms(await c.postJson('/v1/predictions', { model: 'm', inputs: [{ a: 1, b: 2 }] }), 'post', '/v1/predictions');
});

it('models: list, one, versions, a version, an alias', async () => {
  await conforms(await c.get('/v1/models'), 'get', '/v1/models');
  await conforms(await c.get('/v1/models/m'), 'get', '/v1/models/{name}');
  await conforms(await c.get('/v1/models/m/versions'), 'get', '/v1/models/{name}/versions');
  await conforms(await c.get('/v1/models/m/versions/1'), 'get', '/v1/models/{name}/versions/{version}');
  await conforms(await c.put('/v1/models/m/aliases/production', { version: 1 }), 'put', '/v1/models/{name}/aliases/{alias}');
});

it('webhooks and keys: create, list, one, delete (204 without a body)', async () => {
  const hook = await conforms(await c.postJson('/v1/webhooks', { url: 'https://hooks.example.com/x', events: ['job.completed'] }), 'post', '/v1/webhooks');
  await conforms(await c.get('/v1/webhooks'), 'get', '/v1/webhooks');
  await conforms(await c.get(`/v1/webhooks/${hook.id}`), 'get', '/v1/webhooks/{id}');
  await conforms(await c.get('/v1/webhooks/default-secret'), 'get', '/v1/webhooks/default-secret');
  await conforms(await c.del(`/v1/webhooks/${hook.id}`), 'delete', '/v1/webhooks/{id}');
  const key = await conforms(await c.postJson('/v1/keys', { scopes: ['jobs:read'], name: 'ro' }), 'post', '/v1/keys');
  await conforms(await c.get('/v1/keys'), 'get', '/v1/keys');
  await conforms(await c.del(`/v1/keys/${key.id}`), 'delete', '/v1/keys/{id}');
  await conforms(await c.get('/v1/audit'), 'get', '/v1/audit');
});

it('problems: 400 validation_failed and unknown_parameter, 401, 403, 404, 409, 415, 422 fit Problem with a documented code', async () => {
  await conforms(await c.get('/v1/jobs/not-a-uuid'), 'get', '/v1/jobs/{id}');
  await conforms(await c.get('/v1/jobs?colour=red'), 'get', '/v1/jobs');
  await conforms(await fetch(`${t.api.url}/v1/jobs`), 'get', '/v1/jobs');
  const readOnly = await (await c.postJson('/v1/keys', { scopes: ['jobs:read'] })).json();
  await conforms(await fetch(`${t.api.url}/v1/models`, { headers: { authorization: `Bearer ${readOnly.key}` } }), 'get', '/v1/models');
  await conforms(await c.get('/v1/jobs/00000000-0000-4000-8000-000000000000'), 'get', '/v1/jobs/{id}');
  await conforms(await c.get('/v1/models/nope'), 'get', '/v1/models/{name}');
  await conforms(await c.post('/v1/jobs?model=m', 'a,b\n1,2\n', { 'content-type': 'application/pdf' }), 'post', '/v1/jobs');
  await conforms(await c.postCsv('/v1/jobs?model=m', 'x,y\n1,2\n'), 'post', '/v1/jobs');
  await conforms(await c.postCsv('/v1/jobs?model=nope', 'a,b\n1,2\n'), 'post', '/v1/jobs');
  await conforms(await c.postJson('/v1/webhooks', { url: 'http://127.0.0.1:9/x', events: ['job.completed'] }), 'post', '/v1/webhooks');
  const statuses = [...checked].map((k) => Number(k.split(' ').at(-1)));
  for (const s of [400, 401, 403, 404, 415, 422]) expect(statuses).toContain(s);
});
