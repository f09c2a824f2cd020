import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeResults } from '../../src/db/storeResults.js';
import { encodeResultRows } from '../../src/results/resultRows.js';
import { resultRows } from '../../src/results/readResultChunks.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

// Results are read back a few stored chunks per query, from any row on: every read must give
// exactly the stored rows after its starting row, in order, however chunks, gaps (chunks not done
// yet) and limits fall.

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.close());

describe('reading stored results', () => {
  it('gives the rows after any row, up to any limit, across chunks of any size, gaps and error-only chunks', async () => {
    const job = randomUUID();
    // [first_row, row_count]: ten chunks of uneven sizes, with rows 8..10 and 31..40 not stored (chunks not done).
    const layout = [[1, 3], [4, 4], [11, 1], [12, 7], [19, 5], [24, 7], [41, 2], [43, 9], [52, 1], [53, 6]];
    const client = await env.pool.connect();
    try {
      for (const [firstRow, rowCount] of layout) {
        const rows = Array.from({ length: rowCount }, (_, i) => ({ value: firstRow + i, scores: [0.5], passthrough: [`r${firstRow + i}`], error: null }));
        await storeResults(client, [{ jobId: job, firstRow, rowCount, rows: encodeResultRows(rows) }]);
      }
      // A chunk the watchdog ended: every row has its error, no result bytes.
      await client.query(`INSERT INTO prediction_chunks (job_id, first_row, row_count, error) VALUES ($1, 59, 4, 'not scored')`, [job]);
    } finally {
      client.release();
    }
    const all = [...layout.flatMap(([f, n]) => Array.from({ length: n }, (_, i) => f + i)), 59, 60, 61, 62];
    const read = async (after: number, limit?: number) => {
      const out: number[] = [];
      for await (const rows of resultRows(env.pool, job, after, limit)) out.push(...rows.map((r) => r.row_no));
      return out;
    };
    const wrong: string[] = [];
    for (let after = 0; after <= 64; after++) {
      for (const limit of [1, 2, 3, 5, 8, 13, 1000, undefined]) {
        const want = all.filter((r) => r > after).slice(0, limit ?? Infinity);
        const got = await read(after, limit);
        if (JSON.stringify(got) !== JSON.stringify(want)) wrong.push(`after ${after}, limit ${limit}: ${JSON.stringify(got)}`);
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    // What each row holds comes with it: its own value and passthrough, or the chunk's error.
    const rows = [];
    for await (const some of resultRows(env.pool, job, 20, 5)) rows.push(...some);
    expect(rows.map((r) => [r.row_no, r.value, r.passthrough])).toEqual([[21, 21, ['r21']], [22, 22, ['r22']], [23, 23, ['r23']], [24, 24, ['r24']], [25, 25, ['r25']]]);
    const last = [];
    for await (const some of resultRows(env.pool, job, 60)) last.push(...some);
    expect(last).toEqual([61, 62].map((row_no) => ({ row_no, value: null, scores: null, passthrough: null, error: 'not scored' })));
  });

  it('stores a chunk whose results are large as several rows, cut between rows, that read back as the chunk', async () => {
    const job = randomUUID();
    const rows = Array.from({ length: 300 }, (_, i) => ({ value: i, scores: null, passthrough: ['x'.repeat(i % 7 === 0 ? 900 : 5)], error: null }));
    const client = await env.pool.connect();
    try {
      // Limits scaled down: a value holds at most 1,000 bytes (a 900-byte row alone still fits), a statement 4,000.
      await storeResults(client, [{ jobId: job, firstRow: 1001, rowCount: rows.length, rows: encodeResultRows(rows) }], { maxValueBytes: 1000, maxStatementBytes: 4000 });
    } finally {
      client.release();
    }
    const stored = (await env.pool.query('SELECT first_row, row_count, octet_length(rows) AS n FROM prediction_chunks WHERE job_id = $1 ORDER BY first_row', [job])).rows;
    expect(stored.length).toBeGreaterThan(10);
    expect(stored.every((r) => r.n <= 1000)).toBe(true);
    expect(stored.map((r) => Number(r.first_row))).toEqual(stored.map((_, i) => 1001 + stored.slice(0, i).reduce((a, r) => a + r.row_count, 0)));
    const back = [];
    for await (const some of resultRows(env.pool, job)) back.push(...some);
    expect(back.map((r) => [r.row_no, r.value, r.passthrough![0].length])).toEqual(rows.map((r, i) => [1001 + i, i, r.passthrough[0].length]));
  });

  it('only=errors / only=scored: across chunks, gaps and error-only chunks, from any row, the limit counting kept rows', async () => {
    const job = randomUUID();
    // Every third row fails (with its raw record); chunks of uneven sizes, rows 20..24 not stored, 40..42 one chunk error.
    const layout = [[1, 5], [6, 1], [7, 13], [25, 15], [43, 8]];
    const client = await env.pool.connect();
    try {
      for (const [firstRow, rowCount] of layout) {
        const rows = Array.from({ length: rowCount }, (_, i) => {
          const n = firstRow + i;
          return n % 3 ? { value: n, scores: null, passthrough: null, error: null } : { value: null, scores: null, passthrough: null, error: `e${n}`, record: `line ${n}` };
        });
        await storeResults(client, [{ jobId: job, firstRow, rowCount, rows: encodeResultRows(rows) }]);
      }
      await client.query(`INSERT INTO prediction_chunks (job_id, first_row, row_count, error) VALUES ($1, 40, 3, 'not scored')`, [job]);
    } finally {
      client.release();
    }
    const stored = Array.from({ length: 50 }, (_, i) => i + 1).filter((n) => n < 20 || n > 24);
    const isError = (n: number) => n % 3 === 0 || (n >= 40 && n <= 42);
    const read = async (only: 'errors' | 'scored', after: number, limit?: number) => {
      const out: [number, string | undefined][] = [];
      for await (const rows of resultRows(env.pool, job, after, limit, { only, records: true })) out.push(...rows.map((r): [number, string | undefined] => [r.row_no, r.record && Buffer.from(r.record).toString()]));
      return out;
    };
    const wrong: string[] = [];
    for (const only of ['errors', 'scored'] as const) {
      for (let after = 0; after <= 51; after += 1) {
        for (const limit of [1, 2, 5, undefined]) {
          const want = stored.filter((n) => n > after && isError(n) === (only === 'errors')).slice(0, limit ?? Infinity);
          const got = await read(only, after, limit);
          if (JSON.stringify(got.map((g) => g[0])) !== JSON.stringify(want)) wrong.push(`${only} after ${after}, limit ${limit}: ${JSON.stringify(got)}`);
        }
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect((await read('errors', 35, 3))).toEqual([[36, 'line 36'], [39, 'line 39'], [40, undefined]]);
  });
});
