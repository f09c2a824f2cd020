import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { trainDemoModels } from '../../scripts/train/demoModels.js';
import { linearRegression, notOnnx } from '../fixtures/onnxBuilder.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { expectProblem } from '../helpers/problem.js';

// Bad input gets a clear 4xx as application/problem+json with a stable code; never a 5xx.
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let c: ReturnType<typeof client>;
let other: ReturnType<typeof client>;
const demo = trainDemoModels();

beforeAll(async () => {
  env = await createTestEnv();
  api = await startInProcessApi(env.config);
  c = client(api.url, (await createKey(env.pool, 'acme')).key);
  other = client(api.url, (await createKey(env.pool, 'globex')).key);
  expect((await c.registerModel('penguins', demo.penguins.onnx, demo.penguins.signature)).status).toBe(201);
});
afterAll(async () => {
  await api?.close();
  await env?.close();
});


describe('job submission errors', () => {
  it('unknown model → 404 model_not_found', async () => {
    await expectProblem(await c.postCsv('/v1/jobs?model=nope', 'a\n1\n'), 404, 'model_not_found');
    await expectProblem(await c.postCsv('/v1/jobs?model=penguins:9', 'a\n1\n'), 404, 'model_not_found');
    await expectProblem(await c.postCsv('/v1/jobs?model=penguins@production', 'a\n1\n'), 404, 'model_not_found');
  });
  it("another tenant's model is unknown to the caller", async () => {
    await expectProblem(await other.postCsv('/v1/jobs?model=penguins', demo.penguins.holdoutCsv), 404, 'model_not_found');
  });
  it('missing columns → 422 naming them', async () => {
    const body = await expectProblem(await c.postCsv('/v1/jobs?model=penguins', 'id,Beak Length (mm),Body Mass (g)\n1,2,3\n'), 422, 'missing_columns');
    expect(body.missing).toEqual(['Beak Depth (mm)', 'Flipper Length (mm)']);
    expect(body.detail).toContain('"Beak Depth (mm)"');
  });
  it('empty body and header only → 422 empty_upload', async () => {
    await expectProblem(await c.postCsv('/v1/jobs?model=penguins', ''), 422, 'empty_upload');
    await expectProblem(await c.postCsv('/v1/jobs?model=penguins', demo.penguins.holdoutCsv.split('\n')[0] + '\n'), 422, 'empty_upload');
  });
  it('not CSV at all → 422 invalid_csv, not a 5xx', async () => {
    const body = await expectProblem(await c.postCsv('/v1/jobs?model=penguins', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0xff, 0xfe, 10, 1, 2])), 422, 'invalid_csv');
    expect(body.detail).toMatch(/not CSV/);
  });
  it('an unterminated quote → 422 invalid_csv', async () => {
    await expectProblem(await c.postCsv('/v1/jobs?model=penguins', demo.penguins.holdoutCsv + '"never closed,1,2\n'), 422, 'invalid_csv');
  });
  it('wrong content type → 415', async () => {
    await expectProblem(await c.post('/v1/jobs?model=penguins', '{"a":1}', { 'content-type': 'application/json' }), 415, 'unsupported_media_type');
  });
  it('no model named → 400', async () => {
    await expectProblem(await c.postCsv('/v1/jobs', demo.penguins.holdoutCsv), 400, 'validation_failed');
  });
  it('a callback URL to a private address is refused at submission', async () => {
    const saved = env.config.webhooks.allowPrivate;
    expect(saved).toBe(true); // tests allow loopback receivers; metadata stays refused regardless
    await expectProblem(await c.postCsv('/v1/jobs?model=penguins&callback_url=http://169.254.169.254/latest', demo.penguins.holdoutCsv), 422, 'invalid_callback_url');
  });
  it('failed uploads leave no job behind that could be scored', async () => {
    // Its own tenant and its own failed uploads, so it holds whichever tests ran before it.
    const { key } = await createKey(env.pool, 'refused');
    const own = client(api.url, key);
    expect((await own.registerModel('penguins', demo.penguins.onnx, demo.penguins.signature)).status).toBe(201);
    const tenant = (await env.pool.query(`SELECT id FROM tenants WHERE name = 'refused'`)).rows[0].id;
    const scorable = async () => (await env.pool.query(
      `SELECT count(*)::int AS n FROM job_chunks c JOIN jobs j ON j.id = c.job_id WHERE j.tenant_id = $1 AND j.status <> 'completed' AND c.status = 'pending'`,
      [tenant],
    )).rows[0].n;
    const header = demo.penguins.holdoutCsv.split('\n')[0];
    await expectProblem(await own.postCsv('/v1/jobs?model=penguins', 'id,Beak Length (mm),Body Mass (g)\n1,2,3\n'), 422, 'missing_columns');
    await expectProblem(await own.postCsv('/v1/jobs?model=penguins', header + '\n'), 422, 'empty_upload');
    await expectProblem(await own.postCsv('/v1/jobs?model=penguins', demo.penguins.holdoutCsv + '"never closed,1,2\n'), 422, 'invalid_csv');
    await expectProblem(await own.postCsv('/v1/jobs?model=penguins', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0xff, 0xfe, 10, 1, 2])), 422, 'invalid_csv');
    await expectProblem(await own.postCsv('/v1/jobs?model=penguins&callback_url=http://169.254.169.254/latest', demo.penguins.holdoutCsv), 422, 'invalid_callback_url');
    expect(await scorable()).toBe(0);
    // The same query does see an upload that was accepted (no worker runs here, so its chunks stay pending).
    expect((await own.postCsv('/v1/jobs?model=penguins', demo.penguins.holdoutCsv)).status).toBe(202);
    expect(await scorable()).toBeGreaterThan(0);
  });
});

describe('auth and lookups', () => {
  it('no key, malformed key, unknown key → 401', async () => {
    await expectProblem(await fetch(`${api.url}/v1/jobs`), 401, 'unauthorized');
    await expectProblem(await fetch(`${api.url}/v1/jobs`, { headers: { authorization: 'Bearer nope' } }), 401, 'unauthorized');
  });
  it('bad ids → 400, unknown ids → 404, unknown routes → 404', async () => {
    await expectProblem(await c.get('/v1/jobs/not-a-uuid'), 400, 'validation_failed');
    await expectProblem(await c.get('/v1/jobs/00000000-0000-4000-8000-000000000000'), 404, 'job_not_found');
    await expectProblem(await c.get('/v1/nothing'), 404, 'not_found');
  });
  it('predictions: bad JSON, too many records, unknown model', async () => {
    await expectProblem(await c.post('/v1/predictions', '{"model":', { 'content-type': 'application/json' }), 400, 'invalid_json');
    await expectProblem(await c.postJson('/v1/predictions', { model: 'penguins', inputs: [] }), 400, 'validation_failed');
    await expectProblem(await c.postJson('/v1/predictions', { model: 'penguins', inputs: Array(1001).fill({}) }), 400, 'validation_failed');
    await expectProblem(await c.postJson('/v1/predictions', { model: 'ghost', inputs: [{}] }), 404, 'model_not_found');
  });
});

describe('model registration', () => {
  it('not ONNX → 422 invalid_model', async () => {
    await expectProblem(await c.registerModel('junk', notOnnx, demo.penguins.signature), 422, 'invalid_model');
  });
  it('a signature that does not fit the model → 422 naming both sides', async () => {
    const body = await expectProblem(await c.registerModel('lin', linearRegression([1, 2, 3], 0), { columns: ['a', 'b'], task: 'regression' }), 422, 'signature_mismatch');
    expect(body.detail).toMatch(/3/);
    await expectProblem(await c.registerModel('lin', linearRegression([1, 2], 0), { columns: ['a', 'b'], task: 'regression', output: 'nope' }), 422, 'signature_mismatch');
  });
  it('an invalid signature → 422 invalid_signature', async () => {
    await expectProblem(await c.registerModel('lin', linearRegression([1, 2], 0), { columns: ['a', 'b'], task: 'guess' }), 422, 'invalid_signature');
    await expectProblem(await c.registerModel('lin', linearRegression([1, 2], 0), { columns: ['a', 'b'], task: 'regression', mean: [1] }), 422, 'invalid_signature');
  });
  it('versions count up; aliases pin a version; name@alias resolves at submission', async () => {
    const sig = { columns: ['a', 'b'], task: 'regression' };
    const v1 = await (await c.registerModel('lin', linearRegression([1, 2], 0), sig)).json();
    const v2 = await (await c.registerModel('lin', linearRegression([3, 4], 0), sig)).json();
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect((await c.put('/v1/models/lin/aliases/production', { version: 1 })).status).toBe(200);
    const model = await (await c.get('/v1/models/lin')).json();
    expect(model.aliases).toEqual({ production: 1 });
    const job = await (await c.postCsv('/v1/jobs?model=lin@production', 'a,b\n1,1\n')).json();
    expect(job.model).toEqual({ name: 'lin', version: 1 });
    await expectProblem(await c.put('/v1/models/lin/aliases/production', { version: 7 }), 404, 'model_not_found');
    await expectProblem(await other.get('/v1/models/lin'), 404, 'model_not_found');
  });
});

describe('meta', () => {
  it('healthz, readyz and an OpenAPI document listing every route', async () => {
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    const ready = await (await fetch(`${api.url}/readyz`)).json();
    expect(ready).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    const doc = await (await fetch(`${api.url}/openapi.json`)).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/results', '/v1/predictions', '/v1/models/{name}/versions']));
    // Request and response schemas are named components, referred to by $ref.
    const body = doc.paths['/v1/predictions'].post.requestBody.content['application/json'].schema;
    expect(body).toEqual({ $ref: '#/components/schemas/PredictionRequest' });
    expect(doc.components.schemas.PredictionRequest.required).toContain('inputs');
  });
  it('every response carries a request id', async () => {
    const res = await c.get('/v1/jobs');
    expect(res.headers.get('x-request-id')).toMatch(/[\w-]{8,}/);
  });
});
