import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { countClearSecrets } from '../../src/db/countClearSecrets.js';
import { encryptClearSecrets } from '../../src/webhooks/encryptClearSecrets.js';
import { enqueueDeliveries } from '../../src/webhooks/outbox.js';
import { SecretCipher, SecretDecryptError, secretFingerprint } from '../../src/webhooks/secretCipher.js';
import { generateSecret } from '../../src/webhooks/sign.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { startProcess } from '../helpers/processes.js';
import { completeJob, createRunningJob, createTenant, freePort, runtime, startApi, startReceiver, type Receiver, type Runtime } from './harness.js';

// Webhook secrets at rest (issue 12 §9): encrypted with SECRETS_KEY, never in clear in Postgres,
// shown only when made or rotated; rows stored in clear before migration 0012 still sign, and the
// re-encryption step seals them; no production process starts without the key.

let t: TestEnv;
let rt: Runtime;
let api: Awaited<ReturnType<typeof startApi>>;
const receivers: Receiver[] = [];

beforeAll(async () => {
  t = await createTestEnv({ WEBHOOK_RETRY_SCHEDULE: '0,1,1' });
  rt = runtime(t.config, t.pool);
  rt.startWorker();
  api = await startApi(t.config, t.pool, rt.queue);
});
afterAll(async () => {
  for (const r of receivers) await r.stop();
  await api.close();
  await rt.close();
  await t.close();
});

let tenants = 0;
const tenant = () => createTenant(t.pool, `secrets-${++tenants}`);

async function receiver(opts: Parameters<typeof startReceiver>[0]) {
  const r = await startReceiver(opts);
  receivers.push(r);
  return r;
}

/** Ends a job of the tenant (with a callback URL, if given) and sends its deliveries. */
async function endJob(tenantId: string, callbackUrl: string | null = null) {
  const jobId = await createRunningJob(t.pool, tenantId, callbackUrl);
  const { ids } = await completeJob(t.pool, jobId);
  await enqueueDeliveries(rt.queue, ids);
  return jobId;
}

/** Every row of both secret tables, as text: what a dump or a leaked SELECT would show. */
async function secretTablesAsText(): Promise<string> {
  const { rows } = await t.pool.query(
    `SELECT (SELECT coalesce(json_agg(e), '[]') FROM webhook_endpoints e)::text || (SELECT coalesce(json_agg(s), '[]') FROM webhook_tenant_secrets s)::text AS all`,
  );
  return rows[0].all;
}

describe('at rest', () => {
  it('no secret is ever in clear in Postgres, and deliveries still verify with it', async () => {
    const { key, tenantId } = await tenant();
    const port = await freePort();
    const created = await api.call(key, 'POST', '/v1/webhooks', { url: `http://127.0.0.1:${port}/hook`, events: ['job.completed'] });
    const rotated = await api.call(key, 'POST', `/v1/webhooks/${created.body.id}/rotate-secret`, {});
    const dflt = await api.call(key, 'GET', '/v1/webhooks/default-secret');
    const dfltRotated = await api.call(key, 'POST', '/v1/webhooks/default-secret/rotate', {});
    const shown = [created.body.secret, rotated.body.secret, dflt.body.secret, dfltRotated.body.secret];
    for (const s of shown) expect(s).toMatch(/^whsec_/);

    const all = await secretTablesAsText();
    for (const s of shown) {
      expect(all).not.toContain(s);
      expect(all).not.toContain(s.slice('whsec_'.length)); // nor its bytes' base64 without the prefix
    }
    expect(all).not.toMatch(/whsec_/);
    const { rows } = await t.pool.query(
      `SELECT secret, previous_secret, secret_enc, previous_secret_enc, secret_fingerprint FROM webhook_endpoints WHERE id = $1
       UNION ALL SELECT secret, previous_secret, secret_enc, previous_secret_enc, secret_fingerprint FROM webhook_tenant_secrets WHERE tenant_id = $2`,
      [created.body.id, tenantId],
    );
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r).toMatchObject({ secret: null, previous_secret: null });
      expect(r.secret_enc).toMatch(/^v1:[\w-]+:[\w-]+:[\w-]+$/);
      expect(r.previous_secret_enc).toMatch(/^v1:/);
    }
    expect(rows[0].secret_fingerprint).toBe(secretFingerprint(rotated.body.secret));
    expect(rows[1].secret_fingerprint).toBe(secretFingerprint(dfltRotated.body.secret));

    // The worker decrypts right before signing: both of the endpoint's secrets (overlap), both default ones.
    const r = await receiver({ secrets: [created.body.secret, rotated.body.secret], port });
    const cb = await receiver({ secrets: [dflt.body.secret, dfltRotated.body.secret] });
    const jobId = await endJob(tenantId, cb.url);
    expect((await r.next((q) => q.payload.data.id === jobId)).verified).toEqual([true, true]);
    expect((await cb.next((q) => q.payload.data.id === jobId)).verified).toEqual([true, true]);
  });

  it('binds a ciphertext to its tenant and its key: moved or read under another key, it does not decrypt', () => {
    const cipher = new SecretCipher(randomBytes(32));
    const secret = generateSecret();
    const enc = cipher.encrypt(secret, 'tenant-a');
    expect(enc).not.toContain(secret.slice(6));
    expect(cipher.decrypt(enc, 'tenant-a')).toBe(secret);
    expect(cipher.encrypt(secret, 'tenant-a')).not.toBe(enc); // a fresh IV each time
    expect(() => cipher.decrypt(enc, 'tenant-b')).toThrow(SecretDecryptError);
    expect(() => new SecretCipher(randomBytes(32)).decrypt(enc, 'tenant-a')).toThrow(SecretDecryptError);
    const [v, iv, tag, ct] = enc.split(':');
    const flipped = Buffer.from(ct, 'base64url');
    flipped[0] ^= 1;
    expect(() => cipher.decrypt([v, iv, tag, flipped.toString('base64url')].join(':'), 'tenant-a')).toThrow(SecretDecryptError);
    expect(() => cipher.decrypt(`v9:${iv}:${tag}:${ct}`, 'tenant-a')).toThrow(/unknown format/);
    expect(secretFingerprint(secret)).toBe(createHash('sha256').update(secret).digest('hex').slice(0, 16));
  });
});

describe('the default secret', () => {
  it('is shown by the request that creates it and never again; a rotation shows the new one once', async () => {
    const { key } = await tenant();
    const first = await api.call(key, 'GET', '/v1/webhooks/default-secret');
    expect(first.status).toBe(200);
    expect(first.body.secret).toMatch(/^whsec_/);
    expect(first.body.secret_fingerprint).toBe(secretFingerprint(first.body.secret));
    for (let i = 0; i < 2; i++) {
      const later = await api.call(key, 'GET', '/v1/webhooks/default-secret');
      expect(later.status).toBe(200);
      expect(later.body).not.toHaveProperty('secret');
      expect(later.body).toEqual({ secret_fingerprint: first.body.secret_fingerprint, previous_secret_expires_at: null, created_at: first.body.created_at, rotated_at: null });
    }
    const rotated = await api.call(key, 'POST', '/v1/webhooks/default-secret/rotate', { overlap_seconds: 0 });
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(first.body.secret);
    const after = await api.call(key, 'GET', '/v1/webhooks/default-secret');
    expect(after.body).not.toHaveProperty('secret');
    expect(after.body.secret_fingerprint).toBe(secretFingerprint(rotated.body.secret));
    expect(JSON.stringify(after.body)).not.toContain(rotated.body.secret);
  });

  it('made by the delivery worker for a callback (the tenant never asked): it signs, and is never shown', async () => {
    const { key, tenantId } = await tenant();
    const cb = await receiver({ secrets: [] });
    const jobId = await endJob(tenantId, cb.url);
    const got = await cb.next((q) => q.payload.data.id === jobId);
    expect(got.signatures).toHaveLength(1);
    const info = await api.call(key, 'GET', '/v1/webhooks/default-secret');
    expect(info.body).not.toHaveProperty('secret');
    expect(info.body.secret_fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(await secretTablesAsText()).not.toMatch(/whsec_/);
  });
});

describe('rows stored in clear before migration 0012', () => {
  it('still sign; the re-encryption step seals them (idempotent), and they still sign after', async () => {
    const { tenantId } = await tenant();
    const port = await freePort();
    // As the previous release wrote them: plaintext only, an endpoint mid-rotation and a default secret.
    const [epOld, epNew, dflt] = [generateSecret(), generateSecret(), generateSecret()];
    const ep = await t.pool.query<{ id: string }>(
      `INSERT INTO webhook_endpoints (tenant_id, url, events, secret, previous_secret, previous_secret_expires_at)
       VALUES ($1, $2, '{job.completed}', $3, $4, now() + interval '1 hour') RETURNING id`,
      [tenantId, `http://127.0.0.1:${port}/hook`, epNew, epOld],
    );
    await t.pool.query(`INSERT INTO webhook_tenant_secrets (tenant_id, secret) VALUES ($1, $2)`, [tenantId, dflt]);
    expect(await countClearSecrets(t.pool)).toBe(2);

    const r = await receiver({ secrets: [epOld, epNew], port });
    const cb = await receiver({ secrets: [dflt] });
    const before = await endJob(tenantId, cb.url);
    expect((await r.next((q) => q.payload.data.id === before)).verified).toEqual([true, true]);
    expect((await cb.next((q) => q.payload.data.id === before)).verified).toEqual([true]);

    const cipher = SecretCipher.fromConfig(t.config);
    expect(await encryptClearSecrets(t.pool, cipher, 1)).toEqual({ encrypted: 2, skipped: 0 }); // batches of one: the paging is exercised
    expect(await encryptClearSecrets(t.pool, cipher)).toEqual({ encrypted: 0, skipped: 0 });
    expect(await countClearSecrets(t.pool)).toBe(0);
    const all = await secretTablesAsText();
    for (const s of [epOld, epNew, dflt]) expect(all).not.toContain(s);
    const { rows } = await t.pool.query(`SELECT secret, previous_secret, secret_enc, previous_secret_enc, secret_fingerprint FROM webhook_endpoints WHERE id = $1`, [ep.rows[0].id]);
    expect(rows[0]).toMatchObject({ secret: null, previous_secret: null, secret_fingerprint: secretFingerprint(epNew) });
    expect(cipher.decrypt(rows[0].secret_enc, tenantId)).toBe(epNew);
    expect(cipher.decrypt(rows[0].previous_secret_enc, tenantId)).toBe(epOld);

    const after = await endJob(tenantId, cb.url);
    expect((await r.next((q) => q.payload.data.id === after)).verified).toEqual([true, true]);
    expect((await cb.next((q) => q.payload.data.id === after)).verified).toEqual([true]);
  });

  it('the migration gave the secrets already stored their fingerprint', async () => {
    // The same expression as migrations/0012, on a value: it must agree with secretFingerprint.
    const s = generateSecret();
    const { rows } = await t.pool.query(`SELECT left(encode(sha256(convert_to($1::text, 'UTF8')), 'hex'), 16) AS fp`, [s]);
    expect(rows[0].fp).toBe(secretFingerprint(s));
  });
});

describe('SECRETS_KEY', () => {
  const base = { DATABASE_URL: 'postgres://x@127.0.0.1/none' };

  it('is required in production, or when REQUIRE_SECRETS_KEY says so, and must be 32 bytes', () => {
    expect(() => loadConfig({ ...base, NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, NODE_ENV: 'production' })).toThrow(/SECRETS_KEY: required when NODE_ENV=production/);
    expect(() => loadConfig({ ...base, REQUIRE_SECRETS_KEY: 'true' })).toThrow(/SECRETS_KEY: required when REQUIRE_SECRETS_KEY=true/);
    expect(() => loadConfig({ ...base, SECRETS_KEY: randomBytes(16).toString('base64') })).toThrow(/32 bytes/);
    expect(() => loadConfig({ ...base, SECRETS_KEY: 'not a key at all, just some words!!!!!!!!!!' })).toThrow(/32 bytes/);
    const key = randomBytes(32);
    for (const form of [key.toString('hex'), key.toString('base64'), key.toString('base64url')]) {
      const c = loadConfig({ ...base, NODE_ENV: 'production', SECRETS_KEY: form });
      expect(c.secrets).toEqual({ key: key.toString('base64'), source: 'env' });
    }
    // Development: the fixed, public stand-in, the same on every start (so data survives restarts).
    const dev = loadConfig(base);
    expect(dev.secrets.source).toBe('development');
    expect(loadConfig({}).secrets.key).toBe(dev.secrets.key);
  });

  it.each(['src/server.ts', 'workers/predict.ts'])('%s refuses to start in production without it', async (script) => {
    const { SECRETS_KEY: _dropped, ...env } = t.env;
    const p = startProcess(script, { ...env, NODE_ENV: 'production', SECRETS_KEY: '' });
    expect(await p.exited).toBe(1);
    expect(p.logs.map((l) => String(l.msg)).join('\n')).toMatch(/SECRETS_KEY: required when NODE_ENV=production/);
  });
});
