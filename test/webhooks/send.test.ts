import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EXCERPT_BYTES, sendOnce } from '../../src/webhooks/send.js';

// One attempt against small in-process servers: what counts as an answer, and what is kept of it.

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  servers.push(s);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`;
}

const attempt = (url: string, timeoutMs = 1000) => sendOnce({ url, body: '{"a":1}', headers: { 'webhook-id': 'msg_x' }, timeoutMs, allowPrivate: true });

describe('one attempt', () => {
  it('counts a 2xx status line within the timeout, even if the body then stalls', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(202);
      res.write('accepted, thinking');
    });
    const r = await attempt(url, 300);
    expect(r).toMatchObject({ kind: 'success', status: 202, responseExcerpt: 'accepted, thinking' });
  });

  it('is a timeout when no status line arrives in time', async () => {
    const url = await serve(() => {});
    const r = await attempt(url, 200);
    // The server never answers: only the timeout can end this attempt.
    expect(r.kind).toBe('timeout');
    expect(r.status).toBeUndefined();
    expect(Number.isInteger(r.latencyMs)).toBe(true);
  });

  it('keeps only the first bytes of the response, and reads Retry-After', async () => {
    const url = await serve((req, res) => {
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['webhook-id']).toBe('msg_x');
      res.writeHead(429, { 'retry-after': '7' });
      res.end('x'.repeat(10_000));
    });
    const r = await attempt(url);
    expect(r).toMatchObject({ kind: 'http_error', status: 429, retryAfterMs: 7000, error: 'HTTP 429' });
    expect(r.responseExcerpt).toHaveLength(EXCERPT_BYTES);
  });

  it('reports a refused connection as a network failure', async () => {
    const url = await serve(() => {});
    await new Promise((r) => servers.pop()!.close(r));
    const r = await attempt(url);
    expect(r.kind).toBe('network');
    expect(r.error).toMatch(/ECONNREFUSED/);
  });
});
