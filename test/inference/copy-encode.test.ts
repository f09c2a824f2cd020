import { randomBytes, randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { PREDICTION_COPY_COLUMNS, encodeCopyRows, float4Text, float8Text, type PredictionRow } from '../../src/inference/copy-encode.js';
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

async function copy(buf: Buffer): Promise<void> {
  await client.query('TRUNCATE predictions');
  const stream = client.query(copyFrom(`COPY predictions (${PREDICTION_COPY_COLUMNS.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from([buf]), stream);
}

describe('COPY text encoding, through a real Postgres', () => {
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

  it('float4 scores round-trip to the same float4 and are as short as Postgres writes them', async () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const special = [0, -0, 1, 0.1, 1 / 3, 1e-45, 1.1754942e-38, 3.4028234663852886e38, 1e-46, 1e39, -7.5, NaN, Infinity, -Infinity, 16777217, 0.30000001192092896];
    const randoms = Array.from({ length: 2000 }, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 60 - 30));
    // Few-digit values exercise the downward search for the shortest text.
    const short = Array.from({ length: 500 }, (_, i) => Number((rand() * 10).toPrecision(1 + (i % 7))) * 10 ** ((i % 40) - 20));
    const all = [...special, ...randoms, ...short];
    const perRow = 50;
    const rows: PredictionRow[] = [];
    for (let i = 0; i < all.length; i += perRow) rows.push({ rowNo: rows.length + 1, value: null, scores: all.slice(i, i + perRow), passthrough: null, error: null });
    await copy(encodeCopyRows(randomUUID(), rows));
    // float4 → float8 is exact, so this compares the stored float4 bit for bit; ::text is Postgres's own shortest form.
    const { rows: back } = await client.query<{ exact: number[]; shortest: string[] }>(
      `SELECT array(SELECT x::float8 FROM unnest(scores) x) AS exact, array(SELECT x::text FROM unnest(scores) x) AS shortest FROM predictions ORDER BY row_no`,
    );
    const exact = back.flatMap((r) => r.exact.map(Number));
    const shortest = back.flatMap((r) => r.shortest);
    expect(exact).toHaveLength(all.length);
    all.forEach((x, i) => {
      expect(Object.is(exact[i], Math.fround(x)), `${x} stored as ${exact[i]}`).toBe(true);
      expect(digits(float4Text(x)), `${x}: ours ${float4Text(x)} vs Postgres ${shortest[i]}`).toBe(digits(shortest[i]));
    });
  });

  it('spells special floats the way Postgres reads them', () => {
    expect([NaN, Infinity, -Infinity, -0].map(float8Text)).toEqual(['NaN', 'Infinity', '-Infinity', '-0']);
    expect(float4Text(0.1)).toBe('0.1');
    expect(float4Text(0.5)).toBe('0.5');
    expect(float4Text(1e39)).toBe('Infinity');
    expect(encodeCopyRows('j', [{ rowNo: 3, value: null, scores: [], passthrough: ['a b'], error: null }]).toString()).toBe('j\t3\t\\N\t{}\t{"a b"}\t\\N\n');
  });
});

/** Significant digits of a float text (sign, point, exponent and leading zeros aside). */
function digits(s: string): number {
  if (!/\d/.test(s)) return 0;
  const mant = s.replace(/^-/, '').split(/e/i)[0].replace('.', '').replace(/^0+/, '');
  return mant.replace(/0+$/, '').length || 1;
}
