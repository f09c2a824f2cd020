import { randomBytes, randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { copyStream } from '../../src/db/copyFormat.js';
import { copyPredictionsSql, encodeCopyRows, type PredictionRow } from '../../src/inference/copy-encode.js';
import { decodeCopyRows, readCopyTuples } from '../../src/inference/copy-decode.js';
import { createPool } from '../../src/db/pool.js';
import { withDb } from '../global-setup.js';

// Every string here goes through COPY into a real Postgres and must come back unchanged.
const TRICKY = [
  '',
  ' ',
  '  leading and trailing  ',
  'NULL',
  'null',
  '\\N',
  '\\.',
  '"',
  '""',
  '\\',
  '\\\\',
  'a"b\\c',
  ',',
  'a,b',
  '{',
  '}',
  '{a,b}',
  '{"x"}',
  'tab\there',
  'line\nbreak',
  'cr\rcrlf\r\n',
  '\t\n\r\\',
  "it's",
  '\u0001\u001f\u007f',
  'ünïcödé ✓ 🎉',
  '\\x41',
  'E\'\\n\'',
  'x'.repeat(10_000),
];

const admin = () => new pg.Client({ connectionString: inject('testRun').adminUrl });
const dbName = `sluice_scratch_${randomBytes(5).toString('hex')}`;
let client: pg.Client;

beforeAll(async () => {
  const a = admin();
  await a.connect();
  await a.query(`CREATE DATABASE ${dbName}`);
  await a.end();
  client = new pg.Client({ connectionString: withDb(inject('testRun').adminUrl, dbName) });
  await client.connect();
  // Same columns and types as migrations/0001_init.sql's predictions.
  await client.query(`CREATE TABLE predictions (job_id uuid NOT NULL, row_no bigint NOT NULL, value double precision, scores real[], passthrough text[], error text, PRIMARY KEY (job_id, row_no))`);
});

afterAll(async () => {
  await client?.end();
  const a = admin();
  await a.connect();
  await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await a.end();
});

async function copy(...pieces: Buffer[]): Promise<void> {
  await client.query('TRUNCATE predictions');
  const stream = client.query(copyFrom(copyPredictionsSql()));
  await pipeline(Readable.from([copyStream(pieces)]), stream);
}

describe('binary COPY encoding, through a real Postgres', () => {
  it('passthrough strings and error texts come back exactly', async () => {
    const job = randomUUID();
    const rows: PredictionRow[] = TRICKY.map((s, i) => ({ rowNo: i + 1, value: i, scores: null, passthrough: [s, null, TRICKY[(i + 1) % TRICKY.length]], error: null }));
    rows.push(...TRICKY.map((s, i) => ({ rowNo: 1000 + i, value: null, scores: null, passthrough: null, error: s })));
    rows.push({ rowNo: 5000, value: 1, scores: null, passthrough: [], error: null });
    rows.push({ rowNo: 5001, value: 1, scores: null, passthrough: [null], error: null });
    await copy(encodeCopyRows(job, rows));
    const { rows: back } = await client.query<{ row_no: number; passthrough: (string | null)[] | null; error: string | null; job_id: string }>(
      'SELECT job_id, row_no::int AS row_no, passthrough, error FROM predictions ORDER BY predictions.row_no',
    );
    expect(back).toHaveLength(rows.length);
    back.forEach((b, i) => {
      expect(b.job_id).toBe(job);
      expect(Number(b.row_no)).toBe(rows[i].rowNo);
      expect(b.passthrough).toEqual(rows[i].passthrough);
      expect(b.error).toBe(rows[i].error);
    });
  });

  it('a NUL character, which Postgres text cannot hold, becomes U+FFFD and nothing else changes', async () => {
    await copy(encodeCopyRows(randomUUID(), [{ rowNo: 1, value: null, scores: null, passthrough: ['a\u0000b'], error: 'x\u0000' }]));
    const { rows } = await client.query('SELECT passthrough, error FROM predictions');
    expect(rows[0]).toEqual({ passthrough: ['a\uFFFDb'], error: 'x\uFFFD' });
  });

  it('doubles round-trip exactly, NaN/Infinity/-0/denormals included', async () => {
    const values = [0, -0, 0.1, 1 / 3, -2.5e-300, 5e-324, Number.MAX_VALUE, -Number.MIN_VALUE, 1e21, 123456789012345680000, NaN, Infinity, -Infinity];
    await copy(encodeCopyRows(randomUUID(), values.map((v, i) => ({ rowNo: i + 1, value: v, scores: null, passthrough: null, error: null }))));
    const { rows } = await client.query<{ value: number }>('SELECT value FROM predictions ORDER BY row_no');
    rows.forEach((r, i) => expect(Object.is(r.value, values[i]), `${values[i]} came back as ${r.value}`).toBe(true));
  });

  it('float4 scores are stored as Math.fround of each score, bit for bit', async () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const special = [0, -0, 1, 0.1, 1 / 3, 1e-45, 1.1754942e-38, 3.4028234663852886e38, 1e-46, 1e39, -7.5, NaN, Infinity, -Infinity, 16777217, 0.30000001192092896];
    const randoms = Array.from({ length: 2000 }, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 60 - 30));
    const all = [...special, ...randoms];
    const perRow = 50;
    const rows: PredictionRow[] = [];
    for (let i = 0; i < all.length; i += perRow) rows.push({ rowNo: rows.length + 1, value: null, scores: all.slice(i, i + perRow), passthrough: null, error: null });
    await copy(encodeCopyRows(randomUUID(), rows));
    // float4 → float8 is exact, so this compares the stored float4 bit for bit.
    const { rows: back } = await client.query<{ exact: number[] }>(`SELECT array(SELECT x::float8 FROM unnest(scores) x) AS exact FROM predictions ORDER BY row_no`);
    const exact = back.flatMap((r) => r.exact.map(Number));
    expect(exact).toHaveLength(all.length);
    all.forEach((x, i) => expect(Object.is(exact[i], Math.fround(x)), `${x} stored as ${exact[i]}`).toBe(true));
  });

  it('empty arrays, arrays of NULLs, big row numbers, and pieces from several jobs in one stream', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const pa: PredictionRow[] = [
      { rowNo: 1, value: 2, scores: [], passthrough: [], error: null },
      { rowNo: 2 ** 40 + 7, value: -1, scores: [0.5], passthrough: [null, null], error: null },
    ];
    const pb: PredictionRow[] = Array.from({ length: 3000 }, (_, i) => ({ rowNo: i + 1, value: i, scores: [i, -i], passthrough: [`p${i}`], error: i % 7 ? null : `e${i}` }));
    await copy(encodeCopyRows(a, pa), encodeCopyRows(b, pb));
    const { rows } = await client.query('SELECT job_id, row_no::float8 AS row_no, value, scores, passthrough, error FROM predictions ORDER BY job_id = $1 DESC, predictions.row_no', [a]);
    expect(rows).toHaveLength(2 + pb.length);
    expect(rows.slice(0, 2)).toEqual([
      { job_id: a, row_no: 1, value: 2, scores: [], passthrough: [], error: null },
      { job_id: a, row_no: 2 ** 40 + 7, value: -1, scores: [0.5], passthrough: [null, null], error: null },
    ]);
    rows.slice(2).forEach((r, i) => expect(r).toEqual({ job_id: b, row_no: i + 1, value: i, scores: [i, -i], passthrough: [`p${i}`], error: pb[i].error }));
  });

  it('decodes back to what was encoded (the decoder the thread tests and the wake-up message use)', () => {
    const job = randomUUID();
    const rows: PredictionRow[] = TRICKY.map((s, i) => ({ rowNo: i + 1, value: i / 3, scores: [i, 0.25], passthrough: [s, null], error: i % 2 ? s : null }));
    const back = readCopyTuples(encodeCopyRows(job, rows));
    expect(back).toEqual(rows.map((r) => ({ jobId: job, ...r })));
  });

  it('rows of every shape end at every offset near the writer\'s buffer boundaries, and all come through', async () => {
    // A regression row without scores or passthrough is 58 bytes: long runs of such rows, with and
    // without a short passthrough, cross the 64 kB (and grown) buffer ends at every alignment.
    const job = randomUUID();
    const shapes: ((i: number) => PredictionRow)[] = [
      (i) => ({ rowNo: i + 1, value: i, scores: null, passthrough: null, error: null }),
      (i) => ({ rowNo: i + 1, value: i, scores: null, passthrough: [i % 2 ? 'Y' : 'N'], error: null }),
      (i) => ({ rowNo: i + 1, value: null, scores: null, passthrough: null, error: i % 3 ? null : 'e' }),
      (i) => ({ rowNo: i + 1, value: i / 7, scores: [0.25, 0.75], passthrough: [null], error: null }),
    ];
    for (const shape of shapes) {
      for (const n of [1_129, 1_130, 1_131, 790, 5_000]) {
        const rows = Array.from({ length: n }, (_, i) => shape(i));
        expect(readCopyTuples(encodeCopyRows(job, rows))).toEqual(rows.map((r) => ({ jobId: job, ...r })));
      }
    }
    const rows = Array.from({ length: 5_000 }, (_, i) => shapes[1](i));
    await copy(encodeCopyRows(job, rows));
    expect((await client.query('SELECT count(*)::int AS n FROM predictions')).rows[0].n).toBe(5_000);
  });

  it('the tuples read without Postgres give the same rows, to the JSON, as the results read from the table', async () => {
    // A waiting request answers from the wake-up message's tuples (decodeCopyRows) instead of
    // reading the table: the two must be indistinguishable. Scores cover the float4 range, powers
    // of two (unevenly spaced neighbours) and values with no short decimal form.
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const scores = [
      ...Array.from({ length: 3000 }, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 76 - 38)),
      ...Array.from({ length: 277 }, (_, k) => 2 ** (k - 149)),
      ...Array.from({ length: 500 }, () => rand()),
      0, -0, 1e-45, 3.4028234663852886e38, NaN, Infinity, -Infinity, 1 / 3, 0.1, 16777217,
    ];
    const job = randomUUID();
    const rows: PredictionRow[] = [];
    for (let i = 0; i < scores.length; i += 8) {
      const n = rows.length;
      rows.push({
        rowNo: n + 1, value: n % 5 ? (rand() - 0.5) * 10 ** (n % 40) : null, scores: n % 11 ? scores.slice(i, i + 8) : null,
        passthrough: n % 3 ? [TRICKY[n % TRICKY.length], null] : n % 2 ? [] : null, error: n % 7 ? null : TRICKY[n % TRICKY.length],
      });
    }
    const tuples = encodeCopyRows(job, rows);
    await copy(tuples);
    // Through the product's pool, with its type parsers (bigint as number), as readOnlineResults reads.
    const pool = createPool({ databaseUrl: withDb(inject('testRun').adminUrl, dbName) }, 1);
    try {
      const { rows: stored } = await pool.query('SELECT row_no, value, scores, passthrough, error FROM predictions ORDER BY row_no');
      const decoded = decodeCopyRows(tuples);
      const scores = (rs: { scores: number[] | null }[]) => rs.flatMap((r) => r.scores ?? []);
      const [mine, theirs] = [scores(decoded), scores(stored)];
      const differ = mine.flatMap((x, i) => (Object.is(x, theirs[i]) ? [] : [`${x} (read ${theirs[i]})`]));
      expect(differ.slice(0, 10)).toEqual([]);
      expect(JSON.stringify(decoded)).toBe(JSON.stringify(stored));
    } finally {
      await pool.end();
    }
  });

  it('refuses a job id that is not a UUID', () => {
    expect(() => encodeCopyRows('job-1', [])).toThrow(/not a UUID/);
  });
});
