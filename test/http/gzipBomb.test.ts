import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import { createKey } from '../../src/auth/tenants.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { expectProblem } from '../helpers/problem.js';
import { killAll, startApi, type Proc } from '../helpers/processes.js';

// A decompression bomb against the api as a real process, whose memory is the point: 1 GiB of
// CSV rows compressed to about 1 MB, generated as the request body streams (never held whole,
// here or there). The api must answer 413 naming MAX_GZIP_RATIO, and its peak resident memory
// (VmHWM, the kernel's high-water mark, so no sampling can miss a spike) must stay where it was.
let env: TestEnv;
let api: Proc & { url: string };
let c: ReturnType<typeof client>;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startApi(env.env);
  c = client(api.url, (await createKey(env.pool, 'acme')).key);
  expect((await c.registerModel('lin', linearRegression([1, 2], 0), { columns: ['a', 'b'], task: 'regression' })).status).toBe(201);
});
afterAll(async () => {
  await api?.stop();
  await killAll();
  await env?.close();
});

/** The process's resident memory now and at its peak, in MiB (Linux /proc). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

const GIB = 1024 ** 3;

/** `total` bytes of "a,b" rows, gzip-compressed (about 1000:1) only as fast as the request takes them. */
function gzipBomb(total: number) {
  const block = Buffer.from('0,0\n'.repeat(256 * 1024)); // 1 MiB of rows
  async function* rows() {
    yield Buffer.from('a,b\n');
    for (let made = 0; made < total; made += block.length) yield block;
  }
  // pipe() waits for the request to take the compressed bytes, so the rows are made as they are sent.
  return { body: Readable.from(rows()).pipe(createGzip({ level: 6 })) };
}

describe('a gzip bomb', () => {
  it("gets 413 naming MAX_GZIP_RATIO, with the api process's peak memory flat", async () => {
    // Warm up the same road with an honest gzip upload, so what loads once is loaded before measuring.
    const honest = await c.post('/v1/jobs?model=lin', gzipSync('a,b\n' + '1,2\n'.repeat(5000)), { 'content-type': 'text/csv', 'content-encoding': 'gzip' });
    expect(honest.status).toBe(202);
    const before = memory(api.pid);

    const bomb = gzipBomb(GIB);
    const res = await fetch(`${api.url}/v1/jobs?model=lin`, {
      method: 'POST',
      body: bomb.body as unknown as BodyInit, // undici streams an async iterable
      headers: { authorization: `Bearer ${(await createKey(env.pool, 'acme')).key}`, 'content-type': 'text/csv', 'content-encoding': 'gzip' },
      duplex: 'half',
    } as RequestInit);
    const body = await expectProblem(res, 413, 'payload_too_large');
    bomb.body.destroy(); // the client stops making rows
    expect(body.detail).toMatch(/expands more than 200 times \(MAX_GZIP_RATIO\)/);
    const after = memory(api.pid);
    // The api refused it after inflating a small part, not the 1 GiB it would become.
    const [, compressed, inflated] = /: (\d+) compressed bytes became over (\d+) bytes/.exec(body.detail)!.map(Number);
    expect(inflated).toBeGreaterThan(200 * compressed);
    expect(inflated).toBeLessThan(64 * 1024 ** 2);
    console.info(`gzip bomb refused after ${compressed} compressed bytes → ${inflated} bytes; api peak RSS ${before.peak.toFixed(0)} → ${after.peak.toFixed(0)} MiB, RSS ${before.rss.toFixed(0)} → ${after.rss.toFixed(0)} MiB`);
    expect(after.peak - before.peak, `peak ${before.peak.toFixed(0)} → ${after.peak.toFixed(0)} MiB`).toBeLessThan(48);
    expect(after.rss - before.rss).toBeLessThan(48);

    // The job the bomb started (its header was fine) ended failed with the same code, its chunks gone.
    const { rows } = await env.pool.query(`SELECT j.status, j.error_code, (SELECT count(*)::int FROM job_chunks c WHERE c.job_id = j.id) AS chunks FROM jobs j WHERE j.id <> $1`, [(await honest.json()).id]);
    expect(rows).toEqual([{ status: 'failed', error_code: 'payload_too_large', chunks: 0 }]);
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
  });
});
