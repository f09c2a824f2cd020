import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { expect } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { slowClassifier } from './data.js';
import { client } from '../helpers/api.js';

export { rowsCsv, slowClassifier } from './data.js';

// What the reliability tests share: a model slow enough that a worker is always mid-chunk when
// it is killed, an input of N rows, and the exactly-once check over the predictions table.

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

/** Count and checksum of row numbers over predictions, next to the job's own counters. */
export async function accounting(pool: pg.Pool, jobId: string): Promise<Accounting> {
  const { rows } = await pool.query(
    `SELECT count(*)::int AS stored, count(DISTINCT row_no)::int AS distinct, coalesce(sum(row_no), 0)::float8 AS sum,
            coalesce(min(row_no), 0)::int AS min, coalesce(max(row_no), 0)::int AS max, count(error)::int AS errors,
            (SELECT rows_total FROM jobs WHERE id = $1)::int AS total, (SELECT rows_succeeded FROM jobs WHERE id = $1)::int AS succeeded,
            (SELECT rows_failed FROM jobs WHERE id = $1)::int AS failed, (SELECT chunks_done FROM jobs WHERE id = $1)::int AS "chunksDone",
            (SELECT chunks_total FROM jobs WHERE id = $1)::int AS "chunksTotal"
       FROM predictions WHERE job_id = $1`,
    [jobId],
  );
  return rows[0];
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

