import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/errors.js';
import { classifyAddress } from '../../src/webhooks/addresses.js';
import { decide, parseRetryAfter } from '../../src/webhooks/policy.js';
import { activeSecrets, generateSecret, signatureHeaders } from '../../src/webhooks/sign.js';
import { assertCallbackUrlAllowed, resolveChecked } from '../../src/webhooks/ssrf.js';

describe('signing', () => {
  it('makes whsec_ secrets of at least 24 random bytes', () => {
    const s = generateSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(s.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
    expect(generateSecret()).not.toBe(s);
  });

  it('signs exactly as the standardwebhooks package verifies, one signature per secret', () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const body = JSON.stringify({ type: 'job.completed', data: { id: 'x' } });
    const h = signatureHeaders([a, b], 'msg_1', body);
    expect(h['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(a).verify(body, h)).toEqual(JSON.parse(body));
    expect(new Webhook(b).verify(body, h)).toEqual(JSON.parse(body));
    expect(h['webhook-signature'].split(' ')[0]).toBe(new Webhook(a).sign('msg_1', new Date(Number(h['webhook-timestamp']) * 1000), body));
    expect(() => new Webhook(generateSecret()).verify(body, h)).toThrow();
    expect(() => new Webhook(a).verify(body + ' ', h)).toThrow();
  });

  it('keeps the previous secret only until its overlap ends', () => {
    const now = new Date('2025-01-01T00:00:00Z');
    const s = { secret: 'new', previous_secret: 'old', previous_secret_expires_at: new Date('2025-01-01T01:00:00Z') };
    expect(activeSecrets(s, now)).toEqual(['new', 'old']);
    expect(activeSecrets(s, new Date('2025-01-01T02:00:00Z'))).toEqual(['new']);
    expect(activeSecrets({ ...s, previous_secret: null }, now)).toEqual(['new']);
  });
});

describe('address classification', () => {
  it.each([
    ['127.0.0.1', 'private'],
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'forbidden'],
    ['169.254.1.1', 'forbidden'],
    ['100.100.100.200', 'forbidden'],
    ['0.0.0.0', 'forbidden'],
    ['224.0.0.1', 'forbidden'],
    ['255.255.255.255', 'forbidden'],
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['::1', 'private'],
    ['::', 'forbidden'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fe80::1', 'forbidden'],
    ['ff02::1', 'forbidden'],
    ['fd00:ec2::254', 'forbidden'],
    ['::ffff:127.0.0.1', 'private'],
    ['::ffff:7f00:1', 'private'],
    ['::ffff:169.254.169.254', 'forbidden'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::a9fe:a9fe', 'forbidden'],
    ['2002:a9fe:a9fe::1', 'forbidden'],
    ['2002:0808:0808::1', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['[::1]', 'private'],
    ['fe80::1%eth0', 'forbidden'],
  ])('%s is %s', (addr, cls) => {
    expect(classifyAddress(addr)?.class).toBe(cls);
  });

  it('is not fooled by a host name', () => {
    expect(classifyAddress('localhost')).toBeNull();
  });
});

describe('callback URL check at submission', () => {
  const refused = (url: string, allowPrivate = false) => {
    try {
      assertCallbackUrlAllowed(url, { allowPrivate });
    } catch (e) {
      expect(e).toBeInstanceOf(HttpError);
      expect((e as HttpError).code).toBe('invalid_callback_url');
      expect((e as HttpError).status).toBe(422);
      return (e as HttpError).message;
    }
    return null;
  };

  it.each([
    'http://127.0.0.1/hook',
    'http://127.1/hook', // the URL parser normalises short, decimal and hex forms
    'http://2130706433/hook',
    'http://0x7f000001/hook',
    'http://10.0.0.5/',
    'http://192.168.1.1:8080/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fe80::1]/',
    'http://0.0.0.0/',
  ])('refuses the literal address in %s', (url) => {
    expect(refused(url)).toMatch(/address/);
  });

  it('refuses other schemes and credentials', () => {
    expect(refused('ftp://example.com/')).toMatch(/http or https/);
    expect(refused('file:///etc/passwd')).toMatch(/http or https/);
    expect(refused('https://user:pw@example.com/')).toMatch(/credentials/);
    expect(refused('not a url')).toMatch(/absolute URL/);
  });

  it('accepts public hosts, and private ones only when allowed; metadata never', () => {
    expect(refused('https://hooks.example.com/sluice?x=1')).toBeNull();
    expect(refused('http://8.8.8.8/')).toBeNull();
    expect(refused('http://127.0.0.1:3000/', true)).toBeNull();
    expect(refused('http://10.0.0.5/', true)).toBeNull();
    expect(refused('http://169.254.169.254/', true)).toMatch(/cloud metadata/);
    expect(refused('http://[fe80::1]/', true)).toMatch(/link-local/);
  });
});

describe('address check at delivery', () => {
  const resolveTo = (...addresses: string[]) => async () => addresses.map((address) => ({ address, family: (address.includes(':') ? 6 : 4) as 4 | 6 }));

  it('refuses when any resolved address is refused, and returns the checked one otherwise', async () => {
    await expect(resolveChecked('rebind.test', { allowPrivate: false, resolve: resolveTo('93.184.216.34', '127.0.0.1') })).rejects.toThrow(/127\.0\.0\.1/);
    await expect(resolveChecked('meta.test', { allowPrivate: true, resolve: resolveTo('169.254.169.254') })).rejects.toThrow(/metadata/);
    await expect(resolveChecked('ok.test', { allowPrivate: false, resolve: resolveTo('93.184.216.34') })).resolves.toEqual({ address: '93.184.216.34', family: 4 });
    await expect(resolveChecked('localhost', { allowPrivate: false })).rejects.toThrow(/loopback/);
  });
});

describe('retry policy', () => {
  const schedule = [0, 5, 300, 1800];
  const mid = () => 0.5; // no jitter

  it('retries anything but a 2xx on the schedule, then gives up', () => {
    expect(decide({ kind: 'success', status: 204 }, 1, schedule, 'job.completed')).toEqual({ result: 'delivered' });
    for (const o of [{ kind: 'http_error', status: 500 }, { kind: 'http_error', status: 302 }, { kind: 'http_error', status: 400 }, { kind: 'timeout' }, { kind: 'network' }, { kind: 'dns' }] as const) {
      expect(decide(o, 1, schedule, 'job.completed', mid)).toEqual({ result: 'retry', delayMs: 5000 });
    }
    expect(decide({ kind: 'timeout' }, 3, schedule, 'job.completed', mid)).toEqual({ result: 'retry', delayMs: 1_800_000 });
    expect(decide({ kind: 'timeout' }, 4, schedule, 'job.completed', mid)).toMatchObject({ result: 'give_up', disableEndpoint: false });
  });

  it('jitters each wait within ±10 %', () => {
    const lo = decide({ kind: 'network' }, 2, schedule, 'job.completed', () => 0) as { delayMs: number };
    const hi = decide({ kind: 'network' }, 2, schedule, 'job.completed', () => 0.999) as { delayMs: number };
    expect(lo.delayMs).toBe(270_000);
    expect(hi.delayMs).toBeGreaterThan(329_000);
    expect(hi.delayMs).toBeLessThanOrEqual(330_000);
  });

  it('honours Retry-After on 429 and 503 only', () => {
    expect(decide({ kind: 'http_error', status: 429, retryAfterMs: 120_000 }, 1, schedule, 'job.completed', mid)).toEqual({ result: 'retry', delayMs: 120_000 });
    expect(decide({ kind: 'http_error', status: 503, retryAfterMs: 1000 }, 1, schedule, 'job.completed', mid)).toEqual({ result: 'retry', delayMs: 5000 });
    expect(decide({ kind: 'http_error', status: 500, retryAfterMs: 120_000 }, 1, schedule, 'job.completed', mid)).toEqual({ result: 'retry', delayMs: 5000 });
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())).toBeGreaterThan(58_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('gives up at once on 410 (disabling the endpoint) and on a refused address; progress is never retried', () => {
    expect(decide({ kind: 'http_error', status: 410 }, 1, schedule, 'job.completed')).toMatchObject({ result: 'give_up', disableEndpoint: true });
    expect(decide({ kind: 'refused_address' }, 1, schedule, 'job.completed')).toMatchObject({ result: 'give_up', disableEndpoint: false });
    expect(decide({ kind: 'http_error', status: 500 }, 1, schedule, 'job.progress')).toMatchObject({ result: 'give_up' });
  });
});
