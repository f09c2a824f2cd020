import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { mlpClassifier } from '../fixtures/onnxBuilder.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { killAll, startApi, startWorker } from '../helpers/processes.js';

// A canary on an alias through real processes (issue 14): two api processes and a worker. Single
// predictions through an alias split 10/90 are scored by each version in proportion, each result
// naming its version and how it was chosen; a routing key always lands on the same version, in
// either api process; a rollback through one api is what both serve next — the other learns it
// from the NOTIFY of the alias change, not from its cache expiring (60 s).

let env: TestEnv;
let a: ReturnType<typeof client>;
let b: ReturnType<typeof client>;
let keyId: string;
const sig = { columns: ['f1', 'f2'], task: 'classification', labels: ['old', 'new'] };
/** Version 1 always says "old", version 2 always "new": each prediction shows which version scored it. */
const always = (i: 0 | 1) => mlpClassifier([{ weights: [[0, 0], [0, 0]], bias: i === 0 ? [5, 0] : [0, 5] }], { softmax: true });
const LABEL: Record<number, string> = { 1: 'old', 2: 'new' };
const SPLIT = [{ version: 1, weight: 90 }, { version: 2, weight: 10 }];

beforeAll(async () => {
  env = await createTestEnv({ RATE_LIMIT_PER_SECOND: '100000' });
  const [apiA, apiB] = await Promise.all([startApi(env.env), startApi(env.env), startWorker(env.env, { INFERENCE_THREADS: '1' })]);
  const k = await createKey(env.pool, 'canary');
  keyId = k.id;
  a = client(apiA.url, k.key);
  b = client(apiB.url, k.key);
  for (const i of [0, 1] as const) expect((await a.registerModel('iris', always(i), sig)).status).toBe(201);
  expect((await a.put('/v1/models/iris/aliases/prod', { version: 1 })).status).toBe(200);
  const split = await a.put('/v1/models/iris/aliases/prod', { versions: [{ version: 2, weight: 10 }, { version: 1, weight: 90 }] });
  expect(await split.json()).toMatchObject({ version: 1, versions: SPLIT });
}, 120_000);
afterAll(async () => {
  await killAll();
  await env?.close();
});

interface Scored {
  id: string;
  version: number;
  routing: unknown;
  prediction: unknown;
}

/** One prediction through the alias, waited for: the version that scored it and the routing the job shows. */
async function predict(c: ReturnType<typeof client>, routingKey?: string): Promise<Scored> {
  const res = await c.postJson('/v1/predictions', { model: 'iris@prod', inputs: [{ f1: 1, f2: 2 }], wait: 30, ...(routingKey && { routing_key: routingKey }) });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { id: body.id, version: body.model.version, routing: body.routing ?? null, prediction: body.predictions[0].prediction };
}

/** Runs `n` tasks, `concurrency` at a time. */
async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await task(i);
    }
  }));
  return out;
}

describe('an alias split 10/90', () => {
  it('scores 2,000 single predictions about 10 % by the 10-weight version; every result names its version and routing, stored on its job', async () => {
    const results = await pool(2000, 16, () => predict(a));
    const onTwo = results.filter((r) => r.version === 2).length;
    // 10 % of 2,000 is 200 ± 13.4 (one standard deviation): 7–13 % is over 4 of them.
    expect(onTwo).toBeGreaterThanOrEqual(140);
    expect(onTwo).toBeLessThanOrEqual(260);
    for (const r of results) {
      expect([1, 2]).toContain(r.version);
      expect(r.prediction).toBe(LABEL[r.version]); // scored by the version it names
      expect(r.routing).toEqual({ alias: 'prod', versions: SPLIT, chose: 'weighted' });
    }
    const { rows } = await env.pool.query<{ version: number; routing: unknown; n: number }>(
      `SELECT mv.version, j.routing, count(*)::int AS n FROM jobs j JOIN model_versions mv ON mv.id = j.model_version_id WHERE j.id = ANY($1) GROUP BY 1, 2 ORDER BY 1`,
      [results.map((r) => r.id)],
    );
    expect(rows).toEqual([
      { version: 1, routing: { alias: 'prod', versions: SPLIT, chose: 'weighted' }, n: 2000 - onTwo },
      { version: 2, routing: { alias: 'prod', versions: SPLIT, chose: 'weighted' }, n: onTwo },
    ]);
  }, 120_000);

  it('the same routing_key always lands on the same version, whichever api process takes it (50 keys × 5 requests)', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `customer-${i}`);
    const results = await pool(250, 16, (i) => predict(i % 2 ? a : b, keys[i % 50]));
    const byKey = new Map<string, Set<number>>();
    results.forEach((r, i) => {
      expect(r.routing).toEqual({ alias: 'prod', versions: SPLIT, chose: 'routing_key' });
      expect(r.prediction).toBe(LABEL[r.version]);
      byKey.set(keys[i % 50], (byKey.get(keys[i % 50]) ?? new Set()).add(r.version));
    });
    for (const [key, versions] of byKey) expect([...versions], key).toHaveLength(1);
    // Keys are spread by weight, not all sent to one version.
    const versions = [...byKey.values()].map((s) => [...s][0]);
    expect(versions).toContain(1);
    expect(versions).toContain(2);
  }, 120_000);
});

describe('rollback', () => {
  it('returns the alias to its previous target: the api that rolled back scores by it at once, the other as soon as the notification arrives', async () => {
    // A key the split sends to version 2, warm in both processes' caches.
    let key = '';
    for (let i = 0; !key; i++) if ((await predict(a, `probe-${i}`)).version === 2) key = `probe-${i}`;
    expect((await predict(b, key)).version).toBe(2);

    const res = await a.post('/v1/models/iris/aliases/prod/rollback');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ version: 1, versions: [{ version: 1, weight: 1 }] });

    // The process that rolled back dropped its cache before answering: the next prediction is
    // version 1's, with no routing (the alias is no longer split).
    expect(await predict(a, key)).toMatchObject({ version: 1, routing: null, prediction: 'old' });

    // The other process cached the split; only the NOTIFY tells it. It may take the next request
    // a moment before the notification (a separate connection), so ask until it answers with
    // version 1, within a bound far below the cache's 60 s lifetime, then it stays there.
    const started = Date.now();
    let seen = await predict(b, key);
    while (seen.version !== 1 && Date.now() - started < 5000) seen = await predict(b, key);
    expect(seen).toMatchObject({ version: 1, routing: null });
    for (let i = 0; i < 20; i++) expect((await predict(b, key)).version).toBe(1);

    const h = await (await b.get('/v1/models/iris/aliases/prod/history')).json();
    expect(h.data.map((c: { action: string }) => c.action)).toEqual(['rollback', 'split', 'set']);
    expect(h.data[0]).toMatchObject({ from: SPLIT, to: [{ version: 1, weight: 1 }], by: { key_id: keyId } });
    for (let i = 1; i < h.data.length; i++) expect(Date.parse(h.data[i - 1].at)).toBeGreaterThanOrEqual(Date.parse(h.data[i].at));
  }, 60_000);
});
