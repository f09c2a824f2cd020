import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createPool } from '../../src/db/pool.js';
import { decodeResultRows, encodeResultRows, RECORD_MAX_BYTES, splitResultRows, type ResultRow } from '../../src/results/resultRows.js';
import { csvLine } from '../../src/results/formatResults.js';
import { exactShortestFloat4, shortestFloat4 } from '../../src/results/shortestFloat4.js';
import { withDb } from '../globalSetup.js';

// A chunk's results are stored as one value in Sluice's own encoding; read back they must be
// exactly what the results API showed when every row was a row of its own in Postgres.

const TRICKY = [
  '', ' ', '  leading and trailing  ', 'NULL', 'null', '\\N', '"', '""', '\\', 'a"b\\c', ',', '{a,b}', 'tab\there', 'line\nbreak', 'cr\rcrlf\r\n',
  "it's", '\u0001\u001f\u007f', 'ünïcödé ✓ 🎉', 'a\u0000b', 'x'.repeat(10_000),
];

let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const asRead = (rows: ResultRow[], firstRow = 1) =>
  rows.map((r, i) => ({
    row_no: firstRow + i, value: r.value, scores: r.scores && Array.from(r.scores, (x) => Math.fround(x)), passthrough: r.passthrough, error: r.error,
  }));
/** Decoded scores are the shortest decimals of their float4s: fround them back to compare bit for bit. */
const fround = (rows: ReturnType<typeof decodeResultRows>) => rows.map((r) => ({ ...r, scores: r.scores && r.scores.map(Math.fround) }));

describe('stored result rows', () => {
  it('decode to what was encoded: strings exactly (NUL included), doubles exactly, scores as their float4', () => {
    const doubles = [0, -0, 0.1, 1 / 3, -2.5e-300, 5e-324, Number.MAX_VALUE, 1e21, NaN, Infinity, -Infinity];
    const rows: ResultRow[] = [
      ...TRICKY.map((s, i) => ({ value: i, scores: null, passthrough: [s, null, TRICKY[(i + 1) % TRICKY.length]], error: null })),
      ...TRICKY.map((s) => ({ value: null, scores: null, passthrough: null, error: s })),
      ...doubles.map((v) => ({ value: v, scores: [v, rand(), -rand() * 1e30], passthrough: [], error: null })),
      { value: 1, scores: [], passthrough: [null], error: null },
    ];
    const back = decodeResultRows({ first_row: 7, row_count: rows.length, rows: encodeResultRows(rows), error: null });
    expect(fround(back)).toEqual(asRead(rows, 7));
    back.forEach((r, i) => expect(Object.is(r.value, rows[i].value)).toBe(true));
  });

  it('pieces concatenate, rows of every shape cross the writer\'s buffer ends, and a range decodes only its rows', () => {
    const shapes: ((i: number) => ResultRow)[] = [
      (i) => ({ value: i, scores: null, passthrough: null, error: null }),
      (i) => ({ value: i, scores: null, passthrough: [i % 2 ? 'Y' : 'N'], error: null }),
      (i) => ({ value: null, scores: null, passthrough: null, error: i % 3 ? null : 'e' }),
      (i) => ({ value: i / 7, scores: [0.25, 0.75, rand()], passthrough: [null], error: null }),
    ];
    for (const shape of shapes) {
      const rows = Array.from({ length: 9_000 }, (_, i) => shape(i));
      const pieces = [encodeResultRows(rows.slice(0, 4_321)), encodeResultRows(rows.slice(4_321))];
      const stored = { first_row: 1, row_count: rows.length, rows: Buffer.concat(pieces), error: null };
      expect(fround(decodeResultRows(stored))).toEqual(asRead(rows));
      expect(fround(decodeResultRows(stored, { after: 4_000, limit: 17 }))).toEqual(asRead(rows, 1).slice(4_000, 4_017));
      expect(decodeResultRows(stored, { after: 9_000 })).toEqual([]);
    }
  });

  it('a chunk stored as one error gives that error on each of its rows', () => {
    const chunk = { first_row: 5001, row_count: 3, rows: null, error: 'not scored' };
    expect(decodeResultRows(chunk)).toEqual([5001, 5002, 5003].map((row_no) => ({ row_no, value: null, scores: null, passthrough: null, error: 'not scored' })));
    expect(decodeResultRows(chunk, { after: 5002 }).map((r) => r.row_no)).toEqual([5003]);
  });

  it("keeps a failed row's raw record, read only when asked for; rows stored before records read as ever", () => {
    const rows: ResultRow[] = [
      { value: 1.5, scores: [0.25], passthrough: ['a'], error: null, record: Buffer.from('ignored: the row succeeded') },
      { value: null, scores: null, passthrough: ['b'], error: 'bad', record: Buffer.from('b,x"y",\u00ff\0') },
      { value: null, scores: null, passthrough: null, error: 'no record', record: null },
      { value: null, scores: null, passthrough: [null], error: 'json', record: '{"a":"ü"}' },
      { value: null, scores: null, passthrough: null, error: 'too big', record: Buffer.alloc(RECORD_MAX_BYTES + 1, 120) },
      { value: 7, scores: null, passthrough: null, error: null },
    ];
    const bytes = encodeResultRows(rows);
    const old = encodeResultRows(rows.map(({ record: _, ...r }) => r));
    // A successful row pays nothing; an oversized record is left out.
    expect(bytes.length - old.length).toBe(4 + Buffer.byteLength('b,x"y",\u00ff\0') + 4 + Buffer.byteLength('{"a":"ü"}'));
    const chunk = { first_row: 1, row_count: rows.length, rows: bytes, error: null };
    // Without asking, rows read exactly as those stored without records.
    expect(decodeResultRows(chunk)).toEqual(decodeResultRows({ ...chunk, rows: old }));
    expect(decodeResultRows(chunk, { after: 2, limit: 2 })).toEqual(decodeResultRows({ ...chunk, rows: old }, { after: 2, limit: 2 }));
    const errors = decodeResultRows(chunk, { only: 'errors', records: true });
    expect(errors.map((r) => [r.row_no, r.error, r.record && Buffer.from(r.record).toString('utf8')])).toEqual([
      [2, 'bad', 'b,x"y",\u00ff\0'], [3, 'no record', undefined], [4, 'json', '{"a":"ü"}'], [5, 'too big', undefined],
    ]);
    expect(decodeResultRows(chunk, { only: 'scored' }).map((r) => [r.row_no, r.value])).toEqual([[1, 1.5], [6, 7]]);
    expect(decodeResultRows(chunk, { only: 'errors', after: 2, limit: 2 }).map((r) => r.row_no)).toEqual([3, 4]);
    // Rows stored before records (no record bit) through the filtered road.
    expect(decodeResultRows({ ...chunk, rows: old }, { only: 'errors', records: true }).map((r) => [r.row_no, r.record])).toEqual([[2, undefined], [3, undefined], [4, undefined], [5, undefined]]);
    // A chunk stored as one error: all errors, none scored.
    expect(decodeResultRows({ first_row: 9, row_count: 2, rows: null, error: 'x' }, { only: 'scored' })).toEqual([]);
    expect(decodeResultRows({ first_row: 9, row_count: 2, rows: null, error: 'x' }, { only: 'errors', limit: 1 }).map((r) => r.row_no)).toEqual([9]);
    // Splitting steps over records too.
    const pieces = splitResultRows(bytes, 1, rows.length, 16);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.flatMap((p) => decodeResultRows({ first_row: p.firstRow, row_count: p.rowCount, rows: p.rows, error: null }, { only: 'errors', records: true }))).toEqual(errors);
  });

  it('refuses a value with bytes past its last row', () => {
    const rows = encodeResultRows([{ value: 1, scores: null, passthrough: null, error: null }]);
    expect(() => decodeResultRows({ first_row: 1, row_count: 1, rows: Buffer.concat([rows, Buffer.from([0])]), error: null })).toThrow(/past row 1/);
  });
});

describe('through Postgres', () => {
  const admin = () => new pg.Client({ connectionString: inject('testRun').adminUrl });
  // Named as test/helpers/env.ts names a file's database (sluice_t_<run>_…), so the run's teardown and
  // the stale-database cleanup of test/globalSetup.ts drop it if this file never reaches afterAll.
  const dbName = `sluice_t_${inject('testRun').runId}_scratch${randomBytes(4).toString('hex')}`;
  let pool: pg.Pool;
  beforeAll(async () => {
    const a = admin();
    await a.connect();
    await a.query(`CREATE DATABASE ${dbName}`);
    await a.end();
    // The product's pool: its type parsers (bigint as number) are those the results were read with.
    pool = createPool({ databaseUrl: withDb(inject('testRun').adminUrl, dbName) }, 2);
  });
  afterAll(async () => {
    await pool?.end();
    const a = admin();
    await a.connect();
    await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await a.end();
  });

  it('each score reads as Postgres prints the real (shortest digits, ties to even, no halfway values)', async () => {
    const f = new Float32Array(1);
    const bits = new Uint32Array(f.buffer);
    const xs: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      bits[0] = (rand() * 2 ** 32) >>> 0;
      if (Number.isFinite(f[0])) xs.push(f[0]);
    }
    for (let i = 0; i < 5_000; i++) xs.push(Math.fround(rand()), Math.fround(Math.round(rand() * 1e7) / 4), Math.fround(((rand() * 2e8) | 0) * 4));
    for (let k = -149; k < 128; k++) xs.push(2 ** k, -(2 ** k));
    // The float4s around each power of ten, where the decimal exponent changes.
    for (let k = -45; k <= 38; k++) {
      f[0] = Number(`1e${k}`);
      const at = bits[0];
      for (let d = -3; d <= 3; d++) {
        bits[0] = at + d;
        if (Number.isFinite(f[0]) && f[0] !== 0) xs.push(f[0], -f[0]);
      }
    }
    xs.push(...[0, -0, NaN, Infinity, -Infinity, 1 / 3, 0.1, 16777217, 45825728, -2102959.25].map(Math.fround));
    // As text, so -0 stays -0 on the way in.
    const texts = xs.map((x) => (Object.is(x, -0) ? '-0' : String(x)));
    const { rows } = await pool.query<{ t: string }>('SELECT x::float8::float4::text AS t FROM unnest($1::text[]) WITH ORDINALITY u(x, o) ORDER BY o', [texts]);
    const differ = xs.flatMap((x, i) => {
      const want = Number(rows[i].t);
      return Object.is(shortestFloat4(x), want) && Object.is(exactShortestFloat4(x), want) ? [] : [`${x}: Postgres ${rows[i].t}, quick ${shortestFloat4(x)}, exact ${exactShortestFloat4(x)}`];
    });
    expect(differ.slice(0, 10)).toEqual([]);
  });

  it('migration 0007 re-encodes stored prediction rows byte for byte, packed a chunk per row where the chunk is whole', async () => {
    // The tables as migrations 0001..0006 left them (the columns 0007 reads), with rows of every shape.
    await pool.query(`CREATE TABLE predictions (job_id uuid NOT NULL, row_no bigint NOT NULL, value double precision, scores real[], passthrough text[], error text, PRIMARY KEY (job_id, row_no))`);
    await pool.query(`CREATE TABLE job_chunks (job_id uuid NOT NULL, seq integer NOT NULL, first_row bigint NOT NULL, row_count integer NOT NULL, PRIMARY KEY (job_id, seq))`);
    const job = '00000000-0000-4000-8000-000000000007';
    const rows: ResultRow[] = [
      ...TRICKY.filter((s) => !s.includes('\u0000')).map((s, i) => ({ value: i / 3, scores: [rand(), rand() * 1e-30, -rand() * 1e30], passthrough: [s, null], error: null })),
      { value: null, scores: null, passthrough: null, error: 'not scored: the job made no progress' },
      { value: 2, scores: [], passthrough: [], error: null },
      { value: NaN, scores: [NaN, Infinity, -0], passthrough: [null], error: null },
      { value: null, scores: null, passthrough: ['x'], error: 'ünïcödé ✓ 🎉' },
    ];
    for (const [i, r] of rows.entries()) {
      await pool.query('INSERT INTO predictions VALUES ($1, $2, $3, $4, $5, $6)', [job, i + 1, r.value, r.scores && Array.from(r.scores), r.passthrough, r.error]);
    }
    // Chunk 0 holds rows 1..10, all stored: one packed chunk. Chunk 1 holds 11..30 but two of its
    // rows are missing (never stored): its rows stay one-row chunks, as do rows no chunk row covers.
    await pool.query('DELETE FROM predictions WHERE job_id = $1 AND row_no IN (12, 13)', [job]);
    await pool.query(`INSERT INTO job_chunks VALUES ($1, 0, 1, 10), ($1, 1, 11, 20)`, [job]);
    const kept = rows.map((_, i) => i + 1).filter((rowNo) => rowNo !== 12 && rowNo !== 13);
    const before = (await pool.query('SELECT row_no, value, scores, passthrough, error FROM predictions ORDER BY row_no')).rows;

    await pool.query(readFileSync(new URL('../../migrations/0007_prediction_chunks.sql', import.meta.url), 'utf8'));

    const chunks = (await pool.query('SELECT first_row, row_count, rows, error FROM prediction_chunks WHERE job_id = $1 ORDER BY first_row', [job])).rows;
    expect(chunks.map((c) => [c.first_row, c.row_count])).toEqual([[1, 10], ...kept.filter((rowNo) => rowNo > 10).map((rowNo) => [rowNo, 1])]);
    // The bytes the worker would have written for the rows as stored (each score the float4 Postgres
    // kept: read back as its shortest digits, which fround to it exactly).
    const stored: ResultRow[] = before.map((r) => ({ value: r.value, scores: r.scores, passthrough: r.passthrough, error: r.error }));
    expect(chunks[0].rows.equals(encodeResultRows(stored.slice(0, 10)))).toBe(true);
    chunks.slice(1).forEach((c, k) => expect(c.rows.equals(encodeResultRows([stored[10 + k]])), `row ${c.first_row}`).toBe(true));
    expect(JSON.stringify(chunks.flatMap((c) => decodeResultRows(c)))).toBe(JSON.stringify(before));
    expect((await pool.query(`SELECT to_regclass('predictions') AS t`)).rows[0].t).toBeNull();
  });
});

describe('CSV lines (docs/security.md, "CSV downloads")', () => {
  it("neutralise formula-like cells with ' and quotes, leave plain numbers and other cells alone; raw turns it off", () => {
    const cells = ['=1+1', '+1+1', '-1+1', '@A1', '\tx', '\rx', '\0x', '-3.5', '+2', '-1e-7', '.5', '-Infinity', 'plain', 'a,b', 'say "hi"', ' pad', ''];
    expect(csvLine(cells)).toBe(`"'=1+1","'+1+1","'-1+1","'@A1","'\tx","'\rx","'\0x",-3.5,+2,-1e-7,.5,"'-Infinity",plain,"a,b","say ""hi"""," pad",\n`);
    expect(csvLine(cells, { raw: true })).toBe(`=1+1,+1+1,-1+1,@A1,\tx,"\rx",\0x,-3.5,+2,-1e-7,.5,-Infinity,plain,"a,b","say ""hi"""," pad",\n`);
    expect(csvLine(['a;b', 'c,d', '=x'], { delimiter: ';' })).toBe(`"a;b";c,d;"'=x"\n`);
  });
});
