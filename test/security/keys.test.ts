import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, isWellFormedKey, KEY_PREFIX, SCOPES } from '../../src/auth/keys.js';
import { createKey } from '../../src/auth/tenants.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

const run = promisify(execFile);
// Computed here, not with the product's digestKey, so a change of hash in the product fails the test.
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const fromBase62 = (s: string) => [...s].reduce((n, ch) => {
  const d = BASE62.indexOf(ch);
  expect(d, `not a base62 digit: ${ch}`).toBeGreaterThanOrEqual(0);
  return n * 62n + BigInt(d);
}, 0n);
const ROOT = path.resolve(import.meta.dirname, '../..');

let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let admin: ReturnType<typeof client>;
let adminKeyId: string;
let adminKey: string;

beforeAll(async () => {
  // Last use is flushed every 300 ms here, so the test can see a flush happen.
  env = await createTestEnv({ KEY_LAST_USED_FLUSH_MS: '300' });
  api = await startInProcessApi(env.config);
  const k = await createKey(env.pool, 'acme');
  adminKeyId = k.id;
  adminKey = k.key;
  admin = client(api.url, k.key);
});
afterAll(async () => {
  await api?.close();
  await env?.close();
});

describe('key format', () => {
  it('prefix, 256 random bits in base62, CRC checksum; typos are caught without a lookup', () => {
    const a = generateKey();
    const b = generateKey();
    expect(a.key).toMatch(new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{49}$`));
    expect(a.key).not.toBe(b.key);
    expect(isWellFormedKey(a.key)).toBe(true);
    expect(a.digest.length).toBe(32);
    expect(a.digest.equals(sha256(a.key))).toBe(true);
    // The 43 random digits carry a full 256-bit number: never more than 2^256, and over 64 keys
    // the top bit is set in at least one (a shorter random source fails this with odds 1 - 2^-64).
    const randomParts = Array.from({ length: 64 }, () => fromBase62(generateKey().key.slice(KEY_PREFIX.length, -6)));
    for (const n of randomParts) expect(n < 2n ** 256n).toBe(true);
    expect(randomParts.some((n) => n >= 2n ** 255n)).toBe(true);
    expect(new Set(randomParts).size).toBe(64);
    expect(a.prefix).toBe(a.key.slice(0, KEY_PREFIX.length + 6));
    // Every single-character change in the random part is caught by the checksum.
    for (let i = KEY_PREFIX.length; i < a.key.length - 6; i += 3) {
      const c = a.key[i] === 'a' ? 'b' : 'a';
      expect(isWellFormedKey(a.key.slice(0, i) + c + a.key.slice(i + 1))).toBe(false);
    }
    expect(isWellFormedKey(a.key.slice(0, -1))).toBe(false);
    expect(isWellFormedKey('sk_live_' + a.key.slice(KEY_PREFIX.length))).toBe(false);
  });

  it('only the sha256 digest is stored, never the key', async () => {
    const { key, id } = await createKey(env.pool, 'acme', ['jobs:read']);
    const { rows } = await env.pool.query(`SELECT row_to_json(k)::text AS j, digest FROM api_keys k WHERE id = $1`, [id]);
    expect(rows[0].j).not.toContain(key.slice(KEY_PREFIX.length + 6));
    expect(Buffer.compare(rows[0].digest, sha256(key))).toBe(0);
  });
});

describe('admin API: create, list, revoke', () => {
  it('creates a key with the scopes asked for, shown once; list shows prefix and last use only', async () => {
    const res = await admin.postJson('/v1/keys', { scopes: ['jobs:read'], name: 'ci reader' });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const made = await res.json();
    expect(isWellFormedKey(made.key)).toBe(true);
    expect(made).toMatchObject({ object: 'api_key', name: 'ci reader', scopes: ['jobs:read'], revoked_at: null, prefix: made.key.slice(0, 16) });

    const reader = client(api.url, made.key);
    expect((await reader.get('/v1/jobs')).status).toBe(200);
    expect((await reader.get('/v1/keys')).status).toBe(403); // no admin scope
    expect((await reader.postCsv('/v1/jobs?model=x', 'a\n1\n')).status).toBe(403); // no jobs:write

    const listed = await (await admin.get('/v1/keys')).json();
    const text = JSON.stringify(listed);
    expect(text).not.toContain(made.key);
    const row = listed.data.find((k: { id: string }) => k.id === made.id);
    expect(row).toMatchObject({ prefix: made.prefix, scopes: ['jobs:read'], revoked_at: null });
    expect(Object.keys(row).sort()).toEqual(['created_at', 'id', 'last_used_at', 'name', 'object', 'prefix', 'revoked_at', 'scopes']);
  });

  it('unknown scopes and extra fields are refused', async () => {
    expect((await admin.postJson('/v1/keys', { scopes: ['root'] })).status).toBe(400);
    expect((await admin.postJson('/v1/keys', { scopes: [] })).status).toBe(400);
    expect((await admin.postJson('/v1/keys', { scopes: ['admin'], tenant_id: '00000000-0000-4000-8000-000000000000' })).status).toBe(400);
  });

  it('a revoked key fails on its very next request', async () => {
    const made = await (await admin.postJson('/v1/keys', { scopes: ['jobs:read'] })).json();
    const victim = client(api.url, made.key);
    expect((await victim.get('/v1/jobs')).status).toBe(200);
    const r = await adminDelete(`/v1/keys/${made.id}`);
    expect(r.status).toBe(200);
    expect((await r.json()).revoked_at).not.toBeNull();
    const after = await victim.get('/v1/jobs');
    expect(after.status).toBe(401);
    expect((await after.json()).detail).toMatch(/unknown or revoked/);
    // Revoking again is not an error and keeps the first time; an unknown id is a 404.
    expect((await adminDelete(`/v1/keys/${made.id}`)).status).toBe(200);
    expect((await adminDelete('/v1/keys/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('last use is recorded in batches, not one write per request', async () => {
    const made = await (await admin.postJson('/v1/keys', { scopes: ['jobs:read'] })).json();
    // Count every UPDATE that touches this key's row, with a trigger in the test's own database.
    await env.pool.query(`CREATE TABLE IF NOT EXISTS key_updates (id uuid, at timestamptz DEFAULT clock_timestamp())`);
    await env.pool.query(`CREATE OR REPLACE FUNCTION count_key_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO key_updates (id) VALUES (NEW.id); RETURN NEW; END $$`);
    await env.pool.query(`DROP TRIGGER IF EXISTS key_updates ON api_keys; CREATE TRIGGER key_updates AFTER UPDATE ON api_keys FOR EACH ROW EXECUTE FUNCTION count_key_update()`);
    const k = client(api.url, made.key);
    await Promise.all(Array.from({ length: 30 }, () => k.get('/v1/jobs').then((r) => expect(r.status).toBe(200))));
    // Wait for the flush to land (the event under test), then count the writes it took.
    let used: Date | null = null;
    for (let i = 0; i < 200 && !used; i++) {
      used = (await env.pool.query(`SELECT last_used_at FROM api_keys WHERE id = $1`, [made.id])).rows[0].last_used_at;
      if (!used) await new Promise((r) => setTimeout(r, 25));
    }
    expect(used).not.toBeNull();
    const { rows: [key] } = await env.pool.query(`SELECT created_at FROM api_keys WHERE id = $1`, [made.id]);
    expect(used!.getTime()).toBeGreaterThanOrEqual(key.created_at.getTime()); // this test's use, not a stale value
    const { rows } = await env.pool.query(`SELECT count(*)::int AS n FROM key_updates WHERE id = $1`, [made.id]);
    expect(rows[0].n).toBeGreaterThanOrEqual(1);
    expect(rows[0].n).toBeLessThanOrEqual(3); // 30 requests, at most a few batched writes
    const listed = await (await admin.get('/v1/keys')).json();
    expect(listed.data.find((x: { id: string }) => x.id === made.id).last_used_at).not.toBeNull();
  });

  it('create and revoke are in the audit log: who, what, when, from where', async () => {
    const made = await (await admin.postJson('/v1/keys', { scopes: ['models:read'] })).json();
    const del = await adminDelete(`/v1/keys/${made.id}`);
    const reqId = del.headers.get('x-request-id');
    const audit = await (await admin.get('/v1/audit?limit=50')).json();
    const created = audit.data.find((e: any) => e.action === 'key.created' && e.target === made.id);
    const revoked = audit.data.find((e: any) => e.action === 'key.revoked' && e.target === made.id);
    expect(created).toMatchObject({ actor: { type: 'key', id: adminKeyId }, ip: '127.0.0.1', details: { scopes: ['models:read'], prefix: made.prefix } });
    expect(revoked).toMatchObject({ actor: { type: 'key', id: adminKeyId }, ip: '127.0.0.1', request_id: reqId });
    expect(Date.parse(revoked.at)).toBeGreaterThanOrEqual(Date.parse(created.at));
    expect(Date.parse(created.at)).toBeGreaterThanOrEqual(Date.parse(made.created_at));
    expect(JSON.stringify(audit)).not.toContain(made.key);
    // Another tenant's admin sees none of it.
    const other = client(api.url, (await createKey(env.pool, 'globex')).key);
    const theirs = await (await other.get('/v1/audit')).json();
    expect(theirs.data.some((e: any) => e.target === made.id)).toBe(false);
  });
});

async function adminDelete(p: string) {
  return fetch(api.url + p, { method: 'DELETE', headers: { authorization: `Bearer ${adminKey}` } });
}

describe('CLI: npm run keys', () => {
  const keys = (...args: string[]) => run(path.join(ROOT, 'node_modules/.bin/tsx'), ['scripts/keys.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env.env } });

  it('create prints only the key; list never shows it; revoke stops it at once; all audited', async () => {
    const created = await keys('create', '--tenant', 'initech', '--scopes', 'jobs:read,models:read', '--name', 'nightly');
    const key = created.stdout.trim();
    expect(created.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(isWellFormedKey(key)).toBe(true);
    const c = client(api.url, key);
    expect((await c.get('/v1/models')).status).toBe(200);

    const listed = JSON.parse((await keys('list', '--tenant', 'initech')).stdout);
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(key);
    expect(listed[0]).toMatchObject({ prefix: key.slice(0, 16), scopes: ['jobs:read', 'models:read'], name: 'nightly', revoked_at: null });

    await keys('revoke', '--id', listed[0].id);
    expect((await c.get('/v1/models')).status).toBe(401);

    const { rows } = await env.pool.query(`SELECT action, actor_type, ip FROM audit_log WHERE target = $1 ORDER BY id`, [listed[0].id]);
    expect(rows.map((r) => [r.action, r.actor_type, r.ip])).toEqual([['key.created', 'cli', null], ['key.revoked', 'cli', null]]);

    await expect(keys('create', '--tenant', 'initech', '--scopes', 'root')).rejects.toMatchObject({ stderr: expect.stringMatching(/unknown scope/) });
    await expect(keys('revoke', '--id', 'nope')).rejects.toMatchObject({ stderr: expect.stringMatching(/not a key id/) });
  });
});

describe('scopes', () => {
  it('there are exactly the six scopes of the issue', () => {
    expect([...SCOPES]).toEqual(['jobs:write', 'jobs:read', 'models:write', 'models:read', 'webhooks:write', 'admin']);
  });
});
