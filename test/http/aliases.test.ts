import { randomUUID } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { KEY_PREFIX } from '../../src/auth/keys.js';
import { mlpClassifier } from '../fixtures/onnxBuilder.js';
import { apiForTenant, client, type ApiForTenant } from '../helpers/api.js';
import { expectProblem } from '../helpers/problem.js';

// Alias changes over HTTP (issue 14): a split between versions by weight, its validation, the
// promotion guard against recorded evaluations, the history of every change (who, when, from,
// to) and rollback, the model card, and that concurrent changes lose no history. The predictions
// a split routes are tested against real processes in test/models/canaryEndToEnd.test.ts.

let t: ApiForTenant;
let c: ApiForTenant['c'];
let keyId: string;
let tenantId: string;
const sig = { columns: ['f1', 'f2'], task: 'classification', labels: ['a', 'b'] };
/** A classifier that always says `label` (its logits ignore the features). */
const always = (label: 'a' | 'b') => mlpClassifier([{ weights: [[0, 0], [0, 0]], bias: label === 'a' ? [5, 0] : [0, 5] }], { softmax: true });

const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as { default: (a: Ajv2020) => void }).default?.(ajv) ?? (addFormats as unknown as (a: Ajv2020) => void)(ajv);
let doc: { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref: string } }> }> }>> };

/** The body, after checking it against what /openapi.json documents for this operation and status. */
async function conforming(res: Response, method: string, path: string): Promise<any> {
  const text = await res.text();
  const declared = doc.paths[path]?.[method]?.responses[String(res.status)];
  expect(declared, `${method} ${path} declares ${res.status}: ${text.slice(0, 300)}`).toBeDefined();
  const type = (res.headers.get('content-type') ?? '').split(';')[0];
  const validate = ajv.getSchema(`sluice${declared!.content![type].schema.$ref}`)!;
  const body = JSON.parse(text);
  expect(validate(body), `${method} ${path} ${res.status}: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`).toBe(true);
  return body;
}
const put = async (model: string, alias: string, body: unknown) => conforming(await c.put(`/v1/models/${model}/aliases/${alias}`, body), 'put', '/v1/models/{name}/aliases/{alias}');
const history = async (model: string, alias: string, q = '') => conforming(await c.get(`/v1/models/${model}/aliases/${alias}/history${q}`), 'get', '/v1/models/{name}/aliases/{alias}/history');
const rollback = (model: string, alias: string) => c.post(`/v1/models/${model}/aliases/${alias}/rollback`);

/** Records an evaluation of version `version` of `model` as an evaluation job with record=true would. */
async function recordEvaluation(model: string, version: number, figures: Record<string, unknown>, at = new Date()): Promise<string> {
  // A whole evaluation (src/evaluation/report.ts) with the figures the test is about.
  const counts = { rows_evaluated: 100, missing_label: 0, unknown_label: 0, unknown_label_examples: [], unscored: 0 };
  const metrics =
    figures.task === 'regression'
      ? { ...counts, rmse: null, mae: null, r2: null, mean_residual: null, residual_histogram: [], ...figures }
      : { ...counts, accuracy: null, macro_f1: null, weighted_f1: null, log_loss: null, per_class: [], confusion_matrix: { labels: [], counts: [] }, ...figures };
  const { rows } = await t.env.pool.query<{ id: number }>(
    `INSERT INTO model_evaluations (model_version_id, job_id, dataset_digest, label_column, rows, metrics, created_at)
     SELECT mv.id, $4, $5, 'species', 100, $6, $7 FROM models m JOIN model_versions mv ON mv.model_id = m.id
      WHERE m.tenant_id = $1 AND m.name = $2 AND mv.version = $3 RETURNING id`,
    [tenantId, model, version, randomUUID(), 'd'.repeat(64), JSON.stringify(metrics), at],
  );
  return String(rows[0].id);
}

async function registerTwo(model: string) {
  expect((await c.registerModel(model, always('a'), sig)).status).toBe(201);
  expect((await c.registerModel(model, always('b'), sig)).status).toBe(201);
}

beforeAll(async () => {
  t = await apiForTenant();
  const k = await createKey(t.env.pool, 'aliases-tenant');
  keyId = k.id;
  tenantId = k.tenantId;
  c = client(t.api.url, k.key);
  doc = await (await fetch(`${t.api.url}/openapi.json`)).json();
  ajv.addSchema({ $id: 'sluice', components: (doc as unknown as { components: unknown }).components });
  await registerTwo('iris');
});
afterAll(async () => {
  await t?.close();
});

describe('setting and splitting an alias', () => {
  it('a version, then a 10/90 split: the alias names its heaviest version and every weight; each change is recorded with who and from/to', async () => {
    await registerTwo('m1');
    const set = await put('m1', 'prod', { version: 1 });
    expect(set).toMatchObject({ name: 'm1', alias: 'prod', version: 1, versions: [{ version: 1, weight: 1 }] });
    const split = await put('m1', 'prod', { versions: [{ version: 2, weight: 10 }, { version: 1, weight: 90 }] });
    expect(split).toMatchObject({ version: 1, versions: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }] });
    expect(Date.parse(split.updated_at)).toBeGreaterThanOrEqual(Date.parse(set.updated_at));

    const h = await history('m1', 'prod');
    const prefix = (await t.env.pool.query(`SELECT prefix FROM api_keys WHERE id = $1`, [keyId])).rows[0].prefix;
    expect(prefix.startsWith(KEY_PREFIX)).toBe(true);
    expect(h.data).toMatchObject([
      { object: 'alias_change', name: 'm1', alias: 'prod', action: 'split', from: [{ version: 1, weight: 1 }], to: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }], by: { key_id: keyId, key_prefix: prefix }, guard: null },
      { action: 'set', from: null, to: [{ version: 1, weight: 1 }], by: { key_id: keyId, key_prefix: prefix } },
    ]);
    expect(h.data[0].at).toBe(split.updated_at);
    expect(h.next_cursor).toBeNull();

    // The version's own alias list still names the alias for its heaviest version (what an older
    // client reads), and the bulk default resolves to it.
    const resolved = await t.api.lookups.resolveModel(tenantId, 'm1@prod');
    expect(resolved.version).toBe(1);
    expect(resolved.split!.weights).toEqual([{ version: 1, weight: 90 }, { version: 2, weight: 10 }]);
  });

  it('setting the target the alias already has changes and records nothing', async () => {
    await registerTwo('m2');
    await put('m2', 'prod', { versions: [{ version: 1, weight: 3 }, { version: 2, weight: 1 }] });
    const again = await put('m2', 'prod', { versions: [{ version: 2, weight: 1 }, { version: 1, weight: 3 }] });
    expect(again.versions).toEqual([{ version: 1, weight: 3 }, { version: 2, weight: 1 }]);
    expect((await history('m2', 'prod')).data).toHaveLength(1);
    // A one-version split is that version alone.
    await put('m2', 'prod', { versions: [{ version: 2, weight: 7 }] });
    expect((await history('m2', 'prod')).data[0]).toMatchObject({ action: 'set', to: [{ version: 2, weight: 1 }] });
    const { rows } = await t.env.pool.query(`SELECT split FROM model_aliases a JOIN models m ON m.id = a.model_id WHERE m.name = 'm2'`);
    expect(rows[0].split).toBeNull();
  });

  it('bad weights and shapes are 400 validation_failed naming the field; an unknown version is 404 naming it', async () => {
    const bad = [
      [{ versions: [{ version: 1, weight: 0 }, { version: 2, weight: 5 }] }, 'versions.0.weight'],
      [{ versions: [{ version: 1, weight: 10_001 }, { version: 2, weight: 5 }] }, 'versions.0.weight'],
      [{ versions: [{ version: 1, weight: 1.5 }, { version: 2, weight: 5 }] }, 'versions.0.weight'],
      [{ versions: [{ version: 1, weight: -3 }] }, 'versions.0.weight'],
      [{ versions: [{ version: 1, weight: 1 }, { version: 1, weight: 2 }] }, 'versions'],
      [{ versions: [] }, 'versions'],
      [{ versions: Array.from({ length: 11 }, (_, i) => ({ version: i + 1, weight: 1 })) }, 'versions'],
      [{ version: 1, versions: [{ version: 2, weight: 1 }] }, 'version'],
      [{}, 'version'],
      [{ versions: [{ version: 1 }] }, 'versions.0.weight'],
      [{ version: 1, require: { evaluation: { metric: 'macro_f1' } } }, 'require.evaluation'],
      [{ version: 1, require: { evaluation: { metric: 'vibes', min: 1 } } }, 'require.evaluation.metric'],
    ] as const;
    for (const [body, path] of bad) {
      const p = await expectProblem(await c.put('/v1/models/iris/aliases/prod', body), 400, 'validation_failed');
      expect(p.errors.map((e: { path: string }) => e.path), JSON.stringify(body)).toContain(path);
    }
    const missing = await expectProblem(await c.put('/v1/models/iris/aliases/prod', { versions: [{ version: 2, weight: 10 }, { version: 7, weight: 90 }] }), 404, 'model_not_found');
    expect(missing.detail).toMatch(/no version 7 of model "iris"/);
    await expectProblem(await c.put('/v1/models/nope/aliases/prod', { version: 1 }), 404, 'model_not_found');
    // Nothing was written by the refusals.
    expect(await t.env.pool.query(`SELECT 1 FROM model_aliases a JOIN models m ON m.id = a.model_id WHERE m.name = 'iris'`)).toMatchObject({ rowCount: 0 });
  });

  it('a split with a version reading a column the heaviest does not is 422 incompatible_models; one reading fewer is a fine canary', async () => {
    await registerTwo('m3');
    expect((await c.registerModel('m3', always('a'), { ...sig, columns: ['f1', 'f9'] })).status).toBe(201);
    const p = await expectProblem(await c.put('/v1/models/m3/aliases/prod', { versions: [{ version: 1, weight: 1 }, { version: 3, weight: 1 }] }), 422, 'incompatible_models');
    // Equal weights: the heaviest is the higher version, 3; version 1 reads "f2", which requests written for 3 lack.
    expect(p.detail).toMatch(/Version 1 of model "m3" reads "f2", which version 3 \(the heaviest/);
    await conforming(await c.put('/v1/models/m3/aliases/prod', { versions: [{ version: 1, weight: 1 }, { version: 3, weight: 1 }] }), 'put', '/v1/models/{name}/aliases/{alias}');
    await put('m3', 'prod', { versions: [{ version: 1, weight: 1 }, { version: 2, weight: 1 }] });
    // A candidate trained on a subset of the columns fits every request written for the main version.
    const oneColumn = mlpClassifier([{ weights: [[0], [0]], bias: [5, 0] }], { softmax: true });
    expect((await c.registerModel('m3', oneColumn, { ...sig, columns: ['f1'] })).status).toBe(201);
    await put('m3', 'prod', { versions: [{ version: 1, weight: 90 }, { version: 4, weight: 10 }] });
  });

  it('an older release moving the alias (version_id and updated_at only) retires the split it does not know', async () => {
    await registerTwo('m4');
    await put('m4', 'prod', { versions: [{ version: 1, weight: 50 }, { version: 2, weight: 50 }] });
    expect((await t.api.lookups.resolveModel(tenantId, 'm4@prod')).split).toBeDefined();
    await t.env.pool.query(
      `UPDATE model_aliases a SET version_id = v.id, updated_at = now() FROM model_versions v JOIN models m ON m.id = v.model_id
        WHERE m.name = 'm4' AND v.version = 2 AND a.model_id = m.id AND a.alias = 'prod'`,
    );
    t.api.lookups.forgetModels(tenantId); // this test is about what is read, not about the notification
    const now = await t.api.lookups.resolveModel(tenantId, 'm4@prod');
    expect(now.version).toBe(2);
    expect(now.split).toBeUndefined();
    const card = await conforming(await c.get('/v1/models/m4'), 'get', '/v1/models/{name}');
    expect(card.alias_details[0]).toMatchObject({ alias: 'prod', version: 2, versions: [{ version: 2, weight: 1 }] });
  });
});

describe('promotion guard', () => {
  it('refuses (409) a promoted version with no recorded evaluation, or one below the minimum, naming the figure found; passes it otherwise and records the check', async () => {
    await registerTwo('g1');
    await put('g1', 'prod', { version: 1 });
    const req = { versions: [{ version: 2, weight: 10 }, { version: 1, weight: 90 }], require: { evaluation: { metric: 'macro_f1', min: 0.9 } } };
    const none = await conforming(await c.put('/v1/models/g1/aliases/prod', req), 'put', '/v1/models/{name}/aliases/{alias}');
    expect(none).toMatchObject({ status: 409, code: 'promotion_guard_failed', guard: { metric: 'macro_f1', min: 0.9 }, versions: [{ version: 2, value: null, evaluation_id: null }] });
    expect(none.detail).toMatch(/version 2 has no recorded evaluation/);

    await recordEvaluation('g1', 2, { task: 'classification', macro_f1: 0.95 }, new Date(Date.now() - 60_000));
    const lowId = await recordEvaluation('g1', 2, { task: 'classification', macro_f1: 0.84 }); // the latest counts
    const low = await expectProblem(await c.put('/v1/models/g1/aliases/prod', req), 409, 'promotion_guard_failed');
    expect(low.versions).toMatchObject([{ version: 2, value: 0.84, evaluation_id: lowId }]);
    expect(low.detail).toMatch(/has macro_f1 0\.84, not at least 0\.9/);
    expect((await history('g1', 'prod')).data).toHaveLength(1); // refused: nothing recorded
    expect((await t.api.lookups.resolveModel(tenantId, 'g1@prod')).split).toBeUndefined();

    const goodId = await recordEvaluation('g1', 2, { task: 'classification', macro_f1: 0.93 });
    const ok = await put('g1', 'prod', req);
    expect(ok.versions).toEqual([{ version: 1, weight: 90 }, { version: 2, weight: 10 }]);
    // Version 1 loses share: only version 2 is checked (version 1 has no evaluation at all).
    expect((await history('g1', 'prod')).data[0].guard).toEqual({ metric: 'macro_f1', min: 0.9, checked: [{ version: 2, value: 0.93, evaluation_id: goodId }] });
  });

  it('"max" bounds an error figure; a figure the evaluation lacks fails', async () => {
    await registerTwo('g2');
    await recordEvaluation('g2', 1, { task: 'regression', rmse: 0.4 });
    await recordEvaluation('g2', 2, { task: 'regression', rmse: 0.7 });
    const high = await expectProblem(await c.put('/v1/models/g2/aliases/prod', { version: 2, require: { evaluation: { metric: 'rmse', max: 0.5 } } }), 409, 'promotion_guard_failed');
    expect(high.versions).toMatchObject([{ version: 2, value: 0.7 }]);
    expect(high.detail).toMatch(/rmse 0\.7, not at most 0\.5/);
    const lacks = await expectProblem(await c.put('/v1/models/g2/aliases/prod', { version: 1, require: { evaluation: { metric: 'macro_f1', min: 0.1 } } }), 409, 'promotion_guard_failed');
    expect(lacks.detail).toMatch(/has no macro_f1/);
    expect(await put('g2', 'prod', { version: 1, require: { evaluation: { metric: 'rmse', max: 0.5 } } })).toMatchObject({ version: 1 });
  });
});

describe('history and rollback', () => {
  it('rollback returns to the target before the latest change, recorded as a rollback; a second rollback undoes the first', async () => {
    await registerTwo('r1');
    await put('r1', 'prod', { version: 1 });
    await put('r1', 'prod', { versions: [{ version: 2, weight: 10 }, { version: 1, weight: 90 }] });
    expect((await t.api.lookups.resolveModel(tenantId, 'r1@prod')).split).toBeDefined(); // cached with its split

    const back = await conforming(await rollback('r1', 'prod'), 'post', '/v1/models/{name}/aliases/{alias}/rollback');
    expect(back).toMatchObject({ name: 'r1', alias: 'prod', version: 1, versions: [{ version: 1, weight: 1 }] });
    // The process that changed it answers from the new target at once (its cache was dropped).
    const now = await t.api.lookups.resolveModel(tenantId, 'r1@prod');
    expect(now.version).toBe(1);
    expect(now.split).toBeUndefined();

    const h = await history('r1', 'prod');
    expect(h.data.map((x: { action: string }) => x.action)).toEqual(['rollback', 'split', 'set']);
    expect(h.data[0]).toMatchObject({ from: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }], to: [{ version: 1, weight: 1 }], by: { key_id: keyId } });

    const again = await (await rollback('r1', 'prod')).json();
    expect(again.versions).toEqual([{ version: 1, weight: 90 }, { version: 2, weight: 10 }]);
  });

  it('nothing to roll back: an alias whose only change created it (409); no such alias or model (404)', async () => {
    await registerTwo('r2');
    await put('r2', 'prod', { version: 2 });
    const p = await conforming(await rollback('r2', 'prod'), 'post', '/v1/models/{name}/aliases/{alias}/rollback');
    expect(p).toMatchObject({ status: 409, code: 'nothing_to_roll_back' });
    expect(p.detail).toMatch(/created by its latest change/);
    await expectProblem(await rollback('r2', 'staging'), 404, 'model_not_found');
    await expectProblem(await rollback('nope', 'prod'), 404, 'model_not_found');
    await expectProblem(await c.get('/v1/models/r2/aliases/staging/history'), 404, 'model_not_found');
    // An alias set before history was kept has an empty history, and nothing to roll back.
    await t.env.pool.query(`INSERT INTO model_aliases (model_id, alias, version_id) SELECT m.id, 'old', mv.id FROM models m JOIN model_versions mv ON mv.model_id = m.id WHERE m.name = 'r2' AND mv.version = 1`);
    expect((await history('r2', 'old')).data).toEqual([]);
    await expectProblem(await rollback('r2', 'old'), 409, 'nothing_to_roll_back');
  });

  it('a move made without the api (not recorded) is the one a rollback undoes', async () => {
    await registerTwo('r3');
    await put('r3', 'prod', { version: 1 });
    await put('r3', 'prod', { version: 2 });
    await t.env.pool.query(
      `UPDATE model_aliases a SET version_id = v.id, updated_at = now() FROM model_versions v JOIN models m ON m.id = v.model_id
        WHERE m.name = 'r3' AND v.version = 1 AND a.model_id = m.id AND a.alias = 'prod'`,
    );
    expect(await (await rollback('r3', 'prod')).json()).toMatchObject({ version: 2 });
    expect((await history('r3', 'prod')).data[0]).toMatchObject({ action: 'rollback', from: [{ version: 1, weight: 1 }], to: [{ version: 2, weight: 1 }] });
  });

  it('pages newest first with a cursor; a cursor it did not give out is 400', async () => {
    await registerTwo('r4');
    for (let i = 1; i <= 5; i++) await put('r4', 'prod', { versions: [{ version: 1, weight: i }, { version: 2, weight: 10 }] });
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const pg: any = await history('r4', 'prod', `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(pg.data.length).toBeLessThanOrEqual(2);
      seen.push(...pg.data.map((x: { to: { version: number; weight: number }[] }) => x.to.find((e) => e.version === 1)!.weight));
      cursor = pg.next_cursor;
    } while (cursor);
    expect(seen).toEqual([5, 4, 3, 2, 1]);
    await expectProblem(await c.get('/v1/models/r4/aliases/prod/history?cursor=eyJjIjoiMTIifQ'), 400, 'validation_failed');
  });

  it('concurrent changes of one alias lose no history: each change starts from the one before it', async () => {
    await registerTwo('r5');
    const n = 24;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => c.put('/v1/models/r5/aliases/prod', { versions: [{ version: 1, weight: i + 1 }, { version: 2, weight: 100 }] })));
    expect(results.map((r) => r.status)).toEqual(Array(n).fill(200));
    const { data } = await history('r5', 'prod', '?limit=200');
    expect(data).toHaveLength(n);
    const chain = [...data].reverse();
    expect(chain[0].from).toBeNull();
    for (let i = 1; i < n; i++) expect(chain[i].from).toEqual(chain[i - 1].to);
    const card = await (await c.get('/v1/models/r5')).json();
    expect(card.alias_details[0].versions).toEqual(chain[n - 1].to);
  });

  it('reading needs models:read, changing needs models:write', async () => {
    await registerTwo('r6');
    await put('r6', 'prod', { version: 1 });
    const reader = client(t.api.url, (await createKey(t.env.pool, 'aliases-tenant', ['models:read'])).key);
    expect((await reader.get('/v1/models/r6/aliases/prod/history')).status).toBe(200);
    await expectProblem(await reader.put('/v1/models/r6/aliases/prod', { version: 2 }), 403, 'forbidden');
    await expectProblem(await reader.post('/v1/models/r6/aliases/prod/rollback'), 403, 'forbidden');
    // Another tenant sees none of it.
    const other = client(t.api.url, (await createKey(t.env.pool, 'someone-else')).key);
    await expectProblem(await other.get('/v1/models/r6/aliases/prod/history'), 404, 'model_not_found');
    await expectProblem(await other.post('/v1/models/r6/aliases/prod/rollback'), 404, 'model_not_found');
    await expectProblem(await other.put('/v1/models/r6/aliases/prod', { version: 1 }), 404, 'model_not_found');
  });
});

describe('model card', () => {
  it('shows per version its evaluations (newest first, at most 5) and the aliases routing to it with weights; per alias its target and recent history', async () => {
    await registerTwo('card');
    const base = Date.now() - 3_600_000;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await recordEvaluation('card', 2, { task: 'classification', accuracy: 0.9 + i / 100 }, new Date(base + i * 1000)));
    await put('card', 'prod', { version: 1 });
    await put('card', 'prod', { versions: [{ version: 2, weight: 10 }, { version: 1, weight: 90 }] });
    await put('card', 'shadow', { version: 2 });
    for (let i = 0; i < 5; i++) await put('card', 'shadow', { version: (i % 2) + 1 });

    const card = await conforming(await c.get('/v1/models/card'), 'get', '/v1/models/{name}');
    expect(card.aliases).toEqual({ prod: 1, shadow: 1 });
    expect(card.alias_details.map((a: { alias: string }) => a.alias)).toEqual(['prod', 'shadow']);
    expect(card.alias_details[0]).toMatchObject({ version: 1, versions: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }] });
    expect(card.alias_details[0].recent_changes.map((x: { action: string }) => x.action)).toEqual(['split', 'set']);
    expect(card.alias_details[1].recent_changes).toHaveLength(5);
    expect(card.alias_details[1].recent_changes[0].to).toEqual([{ version: 1, weight: 1 }]);

    const [v1, v2] = card.versions;
    expect(v1.alias_weights).toEqual([{ alias: 'prod', weight: 90, share: 0.9 }, { alias: 'shadow', weight: 1, share: 1 }]);
    expect(v2.alias_weights).toEqual([{ alias: 'prod', weight: 10, share: 0.1 }]);
    expect(v1.aliases).toEqual(['prod', 'shadow']);
    expect(v1.evaluations).toEqual([]);
    expect(v2.evaluations.map((e: { id: string }) => e.id)).toEqual(ids.slice(2).reverse());
    expect(v2.evaluations[0]).toMatchObject({ label_column: 'species', rows: 100, metrics: { accuracy: 0.96 }, dataset_digest: 'd'.repeat(64) });
    expect(v2).toHaveProperty('signature');
    expect(v2).toHaveProperty('feeds');

    const one = await conforming(await c.get('/v1/models/card/versions/2'), 'get', '/v1/models/{name}/versions/{version}');
    expect(one.evaluations).toEqual(v2.evaluations);
    expect(one.alias_weights).toEqual(v2.alias_weights);
    const list = await conforming(await c.get('/v1/models/card/versions?limit=1&cursor=' + Buffer.from('{"v":1}').toString('base64url')), 'get', '/v1/models/{name}/versions');
    expect(list.data[0].evaluations).toEqual(v2.evaluations);
  });
});
