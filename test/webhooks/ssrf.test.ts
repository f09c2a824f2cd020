import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { enqueueDeliveries } from '../../src/webhooks/outbox.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { attempts, completeJob, createRunningJob, createTenant, delivery, runtime, startApi, startReceiver, tenantSecret, waitFor, type Receiver } from './harness.js';

// With WEBHOOK_ALLOW_PRIVATE off (the production default), webhooks must not reach into our own
// network: literal addresses are refused when the URL is submitted, names at delivery.

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function setup(env: Record<string, string>) {
  const t: TestEnv = await createTestEnv({ WEBHOOK_RETRY_SCHEDULE: '0,1,1', ...env });
  const rt = runtime(t.config, t.pool);
  cleanup.push(() => t.close(), () => rt.close());
  const tenant = await createTenant(t.pool, 'acme');
  return { t, rt, ...tenant };
}

async function receiver(opts: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(opts);
  cleanup.push(() => r.stop());
  return r;
}

/** A logger whose warnings the test can read. */
function capturingLog() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

describe('at submission', () => {
  it.each([
    ['loopback', 'http://127.0.0.1:8080/hook', /loopback/],
    ['loopback, IPv6', 'http://[::1]/hook', /loopback/],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/hook', /IPv4-mapped loopback/],
    ['private', 'http://10.0.0.7/hook', /private/],
    ['private', 'https://192.168.1.20/hook', /private/],
    ['link-local', 'http://169.254.10.10/hook', /link-local/],
    ['link-local, IPv6', 'http://[fe80::1]/hook', /link-local/],
    ['metadata', 'http://169.254.169.254/latest/meta-data/', /cloud metadata/],
    ['CGNAT', 'http://100.64.1.1/', /carrier-grade NAT/],
  ])('refuses a literal %s address with 422: %s', async (_kind, url, why) => {
    const { t, rt, key } = await setup({ WEBHOOK_ALLOW_PRIVATE: 'false' });
    const api = await startApi(t.config, t.pool, rt.queue);
    cleanup.push(() => api.close());
    const res = await api.call(key, 'POST', '/v1/webhooks', { url, events: ['job.completed'] });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'invalid_callback_url', status: 422 });
    expect(res.body.detail).toMatch(why);
    expect((await api.call(key, 'GET', '/v1/webhooks')).body.data).toEqual([]);
  });

  it('refuses a literal address on PATCH too, and metadata even when private addresses are allowed', async () => {
    const { t, rt, key } = await setup({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    const api = await startApi(t.config, t.pool, rt.queue);
    cleanup.push(() => api.close());
    const ok = await api.call(key, 'POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['job.completed'] });
    expect(ok.status).toBe(201);
    const meta = await api.call(key, 'PATCH', `/v1/webhooks/${ok.body.id}`, { url: 'http://169.254.169.254/' });
    expect(meta).toMatchObject({ status: 422, body: { code: 'invalid_callback_url' } });
    expect((await api.call(key, 'GET', `/v1/webhooks/${ok.body.id}`)).body.url).toBe('http://127.0.0.1:9/hook');
  });
});

describe('at delivery', () => {
  it('refuses a host name that resolves to 127.0.0.1: logged, not retried, nothing sent', async () => {
    const { t, rt, tenantId } = await setup({ WEBHOOK_ALLOW_PRIVATE: 'false' });
    const r0 = await receiver({ secrets: [] });
    const { ids } = await completeJob(t.pool, await createRunningJob(t.pool, tenantId, `http://localhost:${r0.port}/hook`));
    await r0.stop();
    // A receiver really is there, able to verify: only the address check keeps it from being called.
    const r = await receiver({ secrets: [await tenantSecret(t, tenantId)], port: r0.port });
    const { log, lines } = capturingLog();
    rt.startWorker({ log });
    await enqueueDeliveries(rt.queue, ids);

    const d = await waitFor(async () => {
      const row = await delivery(t.pool, ids[0]);
      return row.status === 'failed' && row;
    }, 'the delivery to be refused');
    expect(d.attempt_count).toBe(1);
    expect(d.last_error).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback address.*refused/);
    const log1 = await attempts(t.pool, ids[0]);
    expect(log1).toHaveLength(1);
    expect(log1[0]).toMatchObject({ outcome: 'refused_address', status_code: null, address: null });
    const warning = await waitFor(async () => lines.find((l) => l.msg === 'webhook delivery failed'), 'the warning');
    expect(warning).toMatchObject({ level: 40, deliveryId: ids[0], outcome: 'refused_address', attempt: 1 });
    expect(lines.some((l) => l.msg === 'webhook attempt failed; retry scheduled')).toBe(false);
    expect(r.requests).toHaveLength(0);
  });

  it('checks every address a name resolves to, and connects to the one it checked', async () => {
    const { t, rt, tenantId } = await setup({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    const secretless = await receiver({ secrets: [] });
    const port = secretless.port;
    await secretless.stop();
    const a = await completeJob(t.pool, await createRunningJob(t.pool, tenantId, `http://rebind.test:${port}/hook`));
    const b = await completeJob(t.pool, await createRunningJob(t.pool, tenantId, `http://meta.test:${port}/hook`));
    const r = await receiver({ secrets: [await tenantSecret(t, tenantId)], port });
    // A stand-in DNS: rebind.test answers 127.0.0.1 (allowed here); meta.test hides the metadata
    // address behind a harmless first answer.
    let lookups = 0;
    rt.startWorker({
      resolve: async (host) => {
        lookups += 1;
        if (host === 'rebind.test') return [{ address: '127.0.0.1', family: 4 }];
        return [{ address: '127.0.0.1', family: 4 }, { address: '169.254.169.254', family: 4 }];
      },
    });
    await enqueueDeliveries(rt.queue, [...a.ids, ...b.ids]);

    const got = await r.next();
    expect(got.payload.data.id).toBe(a.job.id);
    const refused = await waitFor(async () => {
      const row = await delivery(t.pool, b.ids[0]);
      return row.status === 'failed' && row;
    }, 'meta.test to be refused');
    expect(refused.last_error).toMatch(/169\.254\.169\.254, a cloud metadata address/);
    await waitFor(async () => (await delivery(t.pool, a.ids[0])).status === 'delivered', 'rebind.test delivered');
    expect((await attempts(t.pool, a.ids[0]))[0]).toMatchObject({ outcome: 'success', address: '127.0.0.1' });
    expect(lookups).toBe(2); // one resolution per attempt; the connection reused its answer
    expect(r.requests).toHaveLength(1);
  });
});
