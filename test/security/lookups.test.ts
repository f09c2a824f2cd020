import { once } from 'node:events';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestKey } from '../../src/auth/keys.js';
import { createKey, revokeKey } from '../../src/auth/tenants.js';
import { LookupListener } from '../../src/http/lookupListener.js';
import { Lookups } from '../../src/http/lookups.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { expectProblem } from '../helpers/problem.js';

// The per-process lookup caches (src/http/lookups.ts) against a real Postgres: what they save (no
// query on a hot request), and that they never serve what Postgres no longer says — invalidated by
// the NOTIFY of migrations/0006, bypassed while the LISTEN connection is down. Every wait below is
// for an event (a notification, the listener going down or up) or a row, never a fixed sleep.

const KEY_SQL = /FROM api_keys WHERE digest/;
// Any of findModelVersion's statements: by name or number, and by alias (which selects a weight first).
const RESOLVE_SQL = /SELECT (\(e->>'weight'\)::int AS weight, )?mv\.id, mv\.version, mv\.signature, mv\.io FROM models/;
const QUOTA_SQL = /sum\(rows_total - rows_succeeded - rows_failed\)/;
const CLI: Parameters<typeof revokeKey>[2]['actor'] = { actorType: 'cli', actor: 'test', ip: null, requestId: null };
const sig = { columns: ['a', 'b'], task: 'regression' };

let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let queries: ReturnType<typeof countQueries>;

beforeAll(async () => {
  env = await createTestEnv({ MAX_QUEUED_ROWS_PER_TENANT: '100', MAX_PREDICTION_RECORDS: '5' });
  api = await startInProcessApi(env.config);
  queries = countQueries(api.lookups.pool);
  expect(api.lookups.listening).toBe(true);
});
afterAll(async () => {
  await api?.close();
  await env?.close();
});

/** Records the SQL of every query made through the pool (the api's own pool, wrapped in place). */
function countQueries(pool: pg.Pool) {
  const seen: string[] = [];
  const query = pool.query;
  pool.query = function (this: pg.Pool, ...args: unknown[]) {
    const q = args[0] as string | { text?: string };
    seen.push(typeof q === 'string' ? q : (q?.text ?? ''));
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof pool.query;
  return {
    count: (re: RegExp) => seen.filter((s) => re.test(s)).length,
    reset: () => void (seen.length = 0),
  };
}

/** Resolves when `lookups` has handled the notification `payload` (its own handler runs first). */
function notified(lookups: Lookups, payload: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const on = (p: string) => {
      if (p !== payload) return;
      clearTimeout(timer);
      lookups.listener.off('notification', on);
      resolve();
    };
    const timer = setTimeout(() => {
      lookups.listener.off('notification', on);
      reject(new Error(`no notification "${payload}" within ${timeoutMs} ms`));
    }, timeoutMs);
    lookups.listener.on('notification', on);
  });
}

function withDeadline<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

describe('API keys', () => {
  it('a cached key is served without a query; revoked by another connection (as the CLI does), it is refused once the notification arrives', async () => {
    const k = await createKey(env.pool, 'acme', ['jobs:read']);
    const c = client(api.url, k.key);
    expect((await c.get('/v1/jobs')).status).toBe(200); // read from Postgres, then cached
    queries.reset();
    for (let i = 0; i < 5; i++) expect((await c.get('/v1/jobs')).status).toBe(200);
    expect(queries.count(KEY_SQL)).toBe(0);

    const arrived = notified(api.lookups, `key:${k.id}`);
    expect(await revokeKey(env.pool, k.id, { tenantId: null, actor: CLI })).not.toBeNull(); // a separate pool: another process
    await arrived;
    const res = await c.get('/v1/jobs');
    expect((await expectProblem(res, 401, 'unauthorized')).detail).toMatch(/unknown or revoked/);
    expect(queries.count(KEY_SQL)).toBe(1); // the eviction sent it back to Postgres
  });

  it('the notification is what evicts: a revocation that fires no trigger is not seen until one arrives', async () => {
    // Shows the cache really answers (the test above is not passing by accident) and that the
    // trigger is load-bearing. session_replication_role = replica skips triggers for one session.
    const k = await createKey(env.pool, 'acme', ['jobs:read']);
    const c = client(api.url, k.key);
    expect((await c.get('/v1/jobs')).status).toBe(200);
    const s = await env.pool.connect();
    try {
      await s.query(`SET session_replication_role = replica`);
      await s.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [k.id]);
      await s.query(`RESET session_replication_role`);
    } finally {
      s.release();
    }
    expect((await c.get('/v1/jobs')).status).toBe(200); // still cached: nothing told this process
    const arrived = notified(api.lookups, `key:${k.id}`);
    await env.pool.query(`SELECT pg_notify('sluice_lookups', $1)`, [`key:${k.id}`]);
    await arrived;
    expect((await c.get('/v1/jobs')).status).toBe(401);
  });

  it('the revoking process evicts before it answers, without waiting for its notification', async () => {
    const admin = await createKey(env.pool, 'acme');
    const victim = await createKey(env.pool, 'acme', ['jobs:read']);
    const v = client(api.url, victim.key);
    expect((await v.get('/v1/jobs')).status).toBe(200);
    // No notification at all for this revocation: only the local eviction can refuse the key.
    await env.pool.query(`ALTER TABLE api_keys DISABLE TRIGGER api_keys_notify_update`);
    try {
      const del = await fetch(`${api.url}/v1/keys/${victim.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin.key}` } });
      expect(del.status).toBe(200);
      expect((await v.get('/v1/jobs')).status).toBe(401);
    } finally {
      await env.pool.query(`ALTER TABLE api_keys ENABLE TRIGGER api_keys_notify_update`);
    }
  });

  it('a lookup that raced a revocation cannot put the revoked key back into the cache', async () => {
    const k = await createKey(env.pool, 'acme', ['jobs:read']);
    let hold: Promise<void> | null = null;
    let answered!: () => void;
    const gotAnswer = new Promise<void>((r) => (answered = r));
    // A pool whose answers can be held back after Postgres has given them.
    const slow = { query: async (...a: unknown[]) => {
      const r = await (env.pool.query as (...x: unknown[]) => Promise<unknown>)(...a);
      if (hold) {
        answered();
        await hold;
      }
      return r;
    } } as unknown as pg.Pool;
    const lookups = new Lookups(slow, new LookupListener({ connectionString: env.env.DATABASE_URL }));
    try {
      expect(await lookups.start()).toBe(true);
      let release!: () => void;
      hold = new Promise((r) => (release = r));
      const racing = lookups.findKey(digestKey(k.key));
      await withDeadline(gotAnswer, 'Postgres to answer "valid"'); // the answer is read, then held
      const arrived = notified(lookups, `key:${k.id}`);
      await revokeKey(env.pool, k.id, { tenantId: null, actor: CLI });
      await arrived;
      hold = null;
      release();
      expect(await racing).toMatchObject({ keyId: k.id }); // concurrent with the revocation: either answer is fair
      expect(await lookups.findKey(digestKey(k.key))).toBeNull(); // but it was not cached
      expect(lookups.stats.keyHits).toBe(0);
    } finally {
      await lookups.close();
    }
  });
});

describe('model references', () => {
  it('an alias moved by another connection resolves to the new version once the notification arrives; jobs pin it', async () => {
    const k = await createKey(env.pool, 'models-tenant');
    const c = client(api.url, k.key);
    for (let i = 0; i < 2; i++) expect((await c.registerModel('lin', linearRegression([1, 2], i), sig)).status).toBe(201);
    expect((await c.put('/v1/models/lin/aliases/prod', { version: 1 })).status).toBe(200);
    const submit = async (ref: string) => {
      const res = await c.postCsv(`/v1/jobs?model=${encodeURIComponent(ref)}`, 'a,b\n1,2\n');
      expect(res.status).toBe(202);
      return (await res.json()).model.version as number;
    };
    expect(await submit('lin@prod')).toBe(1);
    queries.reset();
    expect(await submit('lin@prod')).toBe(1);
    expect(await api.lookups.resolveModel(k.tenantId, 'lin@prod')).toMatchObject({ version: 1, modelName: 'lin' });
    expect(queries.count(RESOLVE_SQL)).toBe(0); // served from the cache

    let arrived = notified(api.lookups, `models:${k.tenantId}`);
    await env.pool.query(
      `UPDATE model_aliases a SET version_id = v.id FROM model_versions v
        WHERE v.model_id = a.model_id AND v.version = 2 AND a.alias = 'prod' AND a.model_id = (SELECT id FROM models WHERE tenant_id = $1 AND name = 'lin')`,
      [k.tenantId],
    );
    await arrived;
    expect(await submit('lin@prod')).toBe(2);

    // "lin" means the latest version: a version added elsewhere is picked up the same way.
    expect(await submit('lin')).toBe(2);
    arrived = notified(api.lookups, `models:${k.tenantId}`);
    await env.pool.query(
      `INSERT INTO model_versions (model_id, version, onnx, sha256, size_bytes, signature, io)
       SELECT model_id, 3, onnx, sha256, size_bytes, signature, io FROM model_versions v
        WHERE v.version = 2 AND v.model_id = (SELECT id FROM models WHERE tenant_id = $1 AND name = 'lin')`,
      [k.tenantId],
    );
    await arrived;
    expect(await submit('lin')).toBe(3);

    // A change made through this process's own api is seen by its next request at once.
    expect((await c.put('/v1/models/lin/aliases/prod', { version: 1 })).status).toBe(200);
    expect(await submit('lin@prod')).toBe(1);
  });

  it("one tenant's change leaves other tenants' cached references alone; unknown models are never cached", async () => {
    const a = await createKey(env.pool, 'ref-a');
    const b = await createKey(env.pool, 'ref-b');
    for (const k of [a, b]) expect((await client(api.url, k.key).registerModel('m', linearRegression([1, 2], 0), sig)).status).toBe(201);
    await api.lookups.resolveModel(a.tenantId, 'm');
    await api.lookups.resolveModel(b.tenantId, 'm');
    const arrived = notified(api.lookups, `models:${a.tenantId}`);
    await env.pool.query(`INSERT INTO model_aliases (model_id, alias, version_id) SELECT m.id, 'x', v.id FROM models m JOIN model_versions v ON v.model_id = m.id WHERE m.tenant_id = $1`, [a.tenantId]);
    await arrived;
    queries.reset();
    await api.lookups.resolveModel(b.tenantId, 'm');
    expect(queries.count(RESOLVE_SQL)).toBe(0);
    await api.lookups.resolveModel(a.tenantId, 'm');
    expect(queries.count(RESOLVE_SQL)).toBe(1);
    for (let i = 0; i < 3; i++) await expect(api.lookups.resolveModel(a.tenantId, 'nope')).rejects.toMatchObject({ code: 'model_not_found' });
    expect(queries.count(RESOLVE_SQL)).toBe(4);
  });
});

describe('the LISTEN connection', () => {
  it('killed: the caches are bypassed (every lookup reads Postgres, and sees what changed meanwhile) until it is back, then used again', async () => {
    const k = await createKey(env.pool, 'listen');
    const digest = digestKey(k.key);
    const seen: string[] = [];
    const counting = { query: (...a: unknown[]) => (seen.push(String(a[0])), (env.pool.query as (...x: unknown[]) => unknown)(...a)) } as unknown as pg.Pool;
    const keyReads = () => seen.filter((s) => KEY_SQL.test(s)).length;
    // The reconnect waits for the test to let it go, so "down" lasts exactly as long as the test needs.
    let letReconnect!: () => void;
    const gate = new Promise<void>((r) => (letReconnect = r));
    const listener = new LookupListener({ connectionString: env.env.DATABASE_URL, delay: () => gate });
    const lookups = new Lookups(counting, listener);
    try {
      expect(await lookups.start()).toBe(true);
      await lookups.findKey(digest);
      await lookups.findKey(digest);
      expect(keyReads()).toBe(1);

      const down = once(listener, 'down');
      await env.pool.query(`SELECT pg_terminate_backend($1)`, [listener.pid]);
      await withDeadline(down, 'the listener to notice');
      expect(lookups.listening).toBe(false);
      expect(await lookups.findKey(digest)).toMatchObject({ keyId: k.id });
      expect(await lookups.findKey(digest)).toMatchObject({ keyId: k.id });
      expect(keyReads()).toBe(3); // bypassed: each lookup read Postgres
      // A revocation now notifies nobody here; the bypass still sees it at once.
      await revokeKey(env.pool, k.id, { tenantId: null, actor: CLI });
      expect(await lookups.findKey(digest)).toBeNull();

      const up = once(listener, 'up');
      letReconnect();
      await withDeadline(up, 'the listener to reconnect');
      expect(lookups.listening).toBe(true);
      expect(listener.pid).not.toBeNull();
      expect(await lookups.findKey(digest)).toBeNull();
      const other = await createKey(env.pool, 'listen');
      const before = keyReads();
      await lookups.findKey(digestKey(other.key));
      await lookups.findKey(digestKey(other.key));
      expect(keyReads()).toBe(before + 1); // cached again
    } finally {
      await lookups.close();
    }
  });

  it("the api's own listener reconnects by itself after being killed, with empty caches", async () => {
    const k = await createKey(env.pool, 'listen-api', ['jobs:read']);
    const c = client(api.url, k.key);
    expect((await c.get('/v1/jobs')).status).toBe(200);
    const { listener } = api.lookups;
    const pid = listener.pid;
    const down = once(listener, 'down');
    const up = once(listener, 'up');
    await env.pool.query(`SELECT pg_terminate_backend($1)`, [pid]);
    await withDeadline(down, 'the listener to notice');
    await withDeadline(up, 'the listener to reconnect');
    expect(listener.pid).not.toBe(pid);
    queries.reset();
    expect((await c.get('/v1/jobs')).status).toBe(200);
    expect((await c.get('/v1/jobs')).status).toBe(200);
    expect(queries.count(KEY_SQL)).toBe(1); // forgotten on reconnect, cached again
  });
});

describe('queued-rows quota', () => {
  async function tenantWithJob(name: string, queued: number) {
    const k = await createKey(env.pool, name);
    const c = client(api.url, k.key);
    expect((await c.registerModel('lin', linearRegression([1, 2], 0), sig)).status).toBe(201);
    const { rows } = await env.pool.query<{ id: string }>(
      `INSERT INTO jobs (tenant_id, model_version_id, kind, status, columns, rows_total)
       SELECT $1, v.id, 'batch', 'queued', ARRAY['a', 'b'], $2 FROM models m JOIN model_versions v ON v.model_id = m.id WHERE m.tenant_id = $1
       RETURNING id`,
      [k.tenantId, queued],
    );
    const setQueued = (n: number) => env.pool.query(`UPDATE jobs SET rows_total = $2 WHERE id = $1`, [rows[0].id, n]);
    return { c, tenantId: k.tenantId, setQueued };
  }
  const predict = (c: ReturnType<typeof client>) => c.postJson('/v1/predictions', { model: 'nope', inputs: [{ a: 1, b: 2 }] });

  it('near the cap every request reads Postgres: 429 as soon as another connection fills the queue, room as soon as it drains', async () => {
    const { c, setQueued } = await tenantWithJob('quota-near', 60); // cap 100: at or over half is "near"
    await expectProblem(await predict(c), 404, 'model_not_found'); // past the quota check
    await setQueued(100);
    const body = await expectProblem(await predict(c), 429, 'quota_exceeded');
    expect(body).toMatchObject({ queued_rows: 100, max_queued_rows: 100 });
    expect(body.detail).toMatch(/MAX_QUEUED_ROWS_PER_TENANT/);
    await setQueued(99);
    await expectProblem(await predict(c), 404, 'model_not_found');
    await setQueued(150);
    await expectProblem(await predict(c), 429, 'quota_exceeded');
  });

  it('far below the cap a reading is reused for at most a second and for at most half the cap of admissions', async () => {
    const { tenantId, setQueued } = await tenantWithJob('quota-far', 10);
    let t = 0;
    const seen: string[] = [];
    const counting = { query: (...a: unknown[]) => (seen.push(String(a[0])), (env.pool.query as (...x: unknown[]) => unknown)(...a)) } as unknown as pg.Pool;
    const reads = () => seen.filter((s) => QUOTA_SQL.test(s)).length;
    const lookups = new Lookups(counting, new LookupListener({ connectionString: env.env.DATABASE_URL }), { now: () => t });
    try {
      expect(await lookups.start()).toBe(true);
      // cap 100, 5 rows per request at most: reused while 10 + admitted + 5 < 50.
      expect(await lookups.queuedRows(tenantId, 100, 5)).toBe(10); // read; admits 5
      for (let i = 0; i < 6; i++) expect(await lookups.queuedRows(tenantId, 100, 5)).toBe(10); // admitted 10..35
      expect(reads()).toBe(1);
      await setQueued(45);
      expect(await lookups.queuedRows(tenantId, 100, 5)).toBe(45); // 10 + 35 + 5 is not below 50: read
      expect(await lookups.queuedRows(tenantId, 100, 5)).toBe(45); // 45 is near: read every time
      expect(reads()).toBe(3);

      await setQueued(10);
      expect(await lookups.queuedRows(tenantId, 100, 5)).toBe(10);
      t = 999;
      expect(await lookups.queuedRows(tenantId, 100, 5)).toBe(10);
      expect(reads()).toBe(4);
      await setQueued(100);
      t = 2000; // a second later the reading is no longer used
      expect(await lookups.queuedRows(tenantId, 100, 5)).toBe(100);
      // A request that could be large (a CSV job: up to MAX_ROWS_PER_JOB) always reads.
      await setQueued(0);
      expect(await lookups.queuedRows(tenantId, 100, 50)).toBe(0);
      expect(await lookups.queuedRows(tenantId, 100, 50)).toBe(0);
      expect(reads()).toBe(7);
    } finally {
      await lookups.close();
    }
  });
});
