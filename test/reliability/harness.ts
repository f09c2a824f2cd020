import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { expect } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { slowClassifier } from './data.js';
import { client } from '../helpers/api.js';
import { storedRows } from '../helpers/results.js';

export { rowsCsv, slowClassifier } from './data.js';

// What the reliability tests share: a model slow enough that a worker is always mid-chunk when
// it is killed, an input of N rows, and the exactly-once check over the stored results.

export async function tenantClient(pool: pg.Pool, url: string, tenant = 'acme') {
  const { key } = await createKey(pool, tenant);
  return client(url, key);
}

export async function registerSlowModel(c: ReturnType<typeof client>, name = 'slow', hidden?: number) {
  const m = slowClassifier(hidden);
  const res = await c.registerModel(name, m.onnx, m.signature);
  expect(res.status, await res.clone().text()).toBe(201);
}

export interface Accounting {
  stored: number;
  distinct: number;
  sum: number;
  min: number;
  max: number;
  errors: number;
  total: number;
  succeeded: number;
  failed: number;
  chunksDone: number;
  chunksTotal: number;
}

/** Count and checksum of the stored results' row numbers, next to the job's own counters. */
export async function accounting(pool: pg.Pool, jobId: string): Promise<Accounting> {
  const results = await storedRows(pool, jobId);
  const stored = results.map((r) => r.row_no);
  const { rows } = await pool.query(
    `SELECT rows_total::int AS total, rows_succeeded::int AS succeeded, rows_failed::int AS failed, chunks_done::int AS "chunksDone",
            chunks_total::int AS "chunksTotal" FROM jobs WHERE id = $1`,
    [jobId],
  );
  return {
    ...rows[0], stored: stored.length, distinct: new Set(stored).size, sum: stored.reduce((a, b) => a + b, 0),
    min: stored.reduce((a, b) => Math.min(a, b), stored[0] ?? 0), max: stored.reduce((a, b) => Math.max(a, b), 0),
    errors: results.filter((r) => r.error !== null).length,
  };
}

/** Every row 1..n exactly once, and counters that agree (a chunk counted twice would show here). */
export function expectExactlyOnce(a: Accounting, n: number, opts: { errors?: number } = {}) {
  expect(a).toMatchObject({ stored: n, distinct: n, sum: (n * (n + 1)) / 2, min: 1, max: n, total: n });
  expect(a.succeeded + a.failed).toBe(n);
  expect(a.chunksDone).toBe(a.chunksTotal);
  if (opts.errors !== undefined) expect(a.errors).toBe(opts.errors);
}

export async function submitCsv(c: ReturnType<typeof client>, model: string, csv: string): Promise<string> {
  const res = await c.postCsv(`/v1/jobs?model=${model}`, csv);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(202);
  return body.id;
}

/** A webhook receiver that answers 503 until told otherwise, and records what it got. */
export async function receiver(opts: { accept?: boolean } = {}) {
  let accept = opts.accept ?? false;
  const got: { type: string; id: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (!accept) return void res.writeHead(503).end();
      const p = JSON.parse(body);
      got.push({ type: p.type, id: p.data?.id });
      res.writeHead(200).end();
    });
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, accept: () => (accept = true), close: () => new Promise((r) => server.close(r)) };
}

