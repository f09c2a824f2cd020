import { Buffer, isUtf8 } from 'node:buffer';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { parseChunk, parseChunkByRecord, parseChunkFast, parseChunkWhole, type ParsedChunk } from '../../src/csv/parse.js';
import { Chunker, splitRecords, type Chunk } from '../../src/csv/records.js';
import { generateCsv, rng, type Generated } from './generate.js';

const B = (s: string) => Buffer.from(s, 'utf8');
const opts = (delimiter: string, fieldCount: number, expectedRows: number) => ({ delimiter, fieldCount, expectedRows });

/** The reference: csv-parse on each record alone, options written out here rather than imported. */
function reference(payload: Buffer, delimiter: string, fieldCount: number): { rows: (string[] | null)[]; bad: boolean[] } {
  const rows: (string[] | null)[] = [];
  for (const rec of splitRecords(payload)) {
    let cells: string[] | null = null;
    if (isUtf8(rec) && rec.indexOf(0) === -1) {
      try {
        const recs = parse(rec, { delimiter, relax_column_count: true, record_delimiter: ['\r\n', '\n'], skip_empty_lines: true });
        // A ragged row keeps its cells beside its error (for its passthrough).
        if (recs.length === 1) cells = recs[0];
      } catch {
        // a bad row: null
      }
    }
    rows.push(cells);
  }
  return { rows, bad: rows.map((r) => r === null || r.length !== fieldCount) };
}

function expectMatchesReference(got: ParsedChunk, ref: ReturnType<typeof reference>, what: string) {
  expect(got.rows, what).toEqual(ref.rows);
  expect(got.errors.map((e) => e !== null), what).toEqual(ref.bad);
}

function expectMatchesTruth(got: ParsedChunk, g: Generated, firstRow: number, what: string) {
  got.rows.forEach((cells, i) => {
    const t = g.rows[firstRow - 1 + i];
    const err = got.errors[i];
    if ('cells' in t) {
      expect([cells, err], `${what} row ${firstRow + i}`).toEqual([t.cells, null]);
      return;
    }
    if (t.error === 'fields') {
      expect(cells?.length, `${what} row ${firstRow + i}`).toBe(t.got);
      expect(err).toBe(`expected ${g.header.length} fields, got ${t.got}`);
      return;
    }
    expect(cells, `${what} row ${firstRow + i}`).toBeNull();
    if (t.error === 'utf8') expect(err).toMatch(/invalid UTF-8/);
    else expect(err).toMatch(/quote/);
  });
}

function chunksOf(bytes: Buffer, chunkRows: number): Chunk[] {
  const c = new Chunker({ maxRecordBytes: 1 << 20, chunkRows });
  c.push(bytes);
  c.end();
  return c.drain();
}

/** The data part of a generated file as uploaded: everything after the header record's newline. */
function rawData(g: Generated): Buffer {
  const bytes = g.bytes;
  let i = bytes[0] === 0xef ? 3 : 0;
  while (bytes[i] === 10 || bytes[i] === 13) i++; // blank lines before the header
  let inQuote = false;
  for (; i < bytes.length; i++) {
    if (bytes[i] === 34) inQuote = !inQuote;
    else if (bytes[i] === 10 && !inQuote) return bytes.subarray(i + 1);
  }
  return Buffer.alloc(0);
}

describe('parseChunk', () => {
  it('splits a quote-free chunk on the fast path, untrimmed, CR stripped, blank lines skipped', () => {
    const payload = B(' 1.5,-2e3,NaN\r\n\n\r\n,,\n4,5,6\r\r\n');
    const fast = parseChunkFast(payload, opts(',', 3, 3));
    expect(fast).toEqual({ rows: [[' 1.5', '-2e3', 'NaN'], ['', '', ''], ['4', '5', '6']], errors: [null, null, null] });
    expect(parseChunk(payload, opts(',', 3, 3))).toEqual(fast);
  });

  it('parses quoted fields with csv-parse', () => {
    const payload = B('"a,b","say ""hi""","x\ny"\n1;2,"",3');
    expect(parseChunkFast(payload, opts(',', 3, 2))).toBeNull();
    const out = parseChunk(payload, opts(',', 3, 2));
    expect(out).toEqual({ rows: [['a,b', 'say "hi"', 'x\ny'], ['1;2', '', '3']], errors: [null, null] });
    expect(parseChunkWhole(payload, opts(',', 3, 2))).toEqual(out);
  });

  it('uses the given delimiter: semicolon and tab', () => {
    expect(parseChunk(B('1,5;2\n"a;b";c'), opts(';', 2, 2)).rows).toEqual([['1,5', '2'], ['a;b', 'c']]);
    expect(parseChunk(B('1\t 2\n"a\tb"\t'), opts('\t', 2, 2)).rows).toEqual([['1', ' 2'], ['a\tb', '']]);
  });

  it('reports ragged rows by their field count, with the cells they have, and keeps the others', () => {
    for (const payload of [B('1,2,3\n1,2\n1,2,3,4\n7,8,9'), B('"1",2,3\n1,2\n1,2,3,4\n7,8,9')]) {
      const out = parseChunk(payload, opts(',', 3, 4));
      expect(out.rows).toEqual([['1', '2', '3'], ['1', '2'], ['1', '2', '3', '4'], ['7', '8', '9']]);
      expect(out.errors).toEqual([null, 'expected 3 fields, got 2', 'expected 3 fields, got 4', null]);
    }
  });

  it('fails only the bad record when csv-parse rejects the chunk', () => {
    const payload = B('1,2\nab"c"d,2\n"ab"x,2\n3,"4"\n"open,5');
    expect(parseChunkWhole(payload, opts(',', 2, 5))).toBeNull();
    const out = parseChunk(payload, opts(',', 2, 5));
    expect(out.rows).toEqual([['1', '2'], null, null, ['3', '4'], null]);
    expect(out.errors[1]).toMatch(/^unexpected quote inside an unquoted field/);
    expect(out.errors[2]).toMatch(/^unexpected text after a closing quote/);
    expect(out.errors[4]).toMatch(/^unbalanced quote/);
  });

  it('reports invalid UTF-8 and NUL bytes per row', () => {
    const payload = Buffer.concat([B('1,2\n'), Buffer.from([0x31, 0xff, 0x2c, 0x32]), B('\n3,\0\n"\xe9",5')]);
    expect(parseChunkFast(payload, opts(',', 2, 4))).toBeNull();
    expect(parseChunkWhole(payload, opts(',', 2, 4))).toBeNull();
    const out = parseChunk(payload, opts(',', 2, 4));
    expect(out.rows).toEqual([['1', '2'], null, null, ['é', '5']]);
    expect(out.errors[1]).toMatch(/^invalid UTF-8/);
    expect(out.errors[2]).toMatch(/NUL byte/);
  });

  it('keeps a BOM inside a chunk as data, on every path', () => {
    const payload = B('\ufeff1,2\n3,4');
    const want = { rows: [['\ufeff1', '2'], ['3', '4']], errors: [null, null] };
    expect(parseChunkFast(payload, opts(',', 2, 2))).toEqual(want);
    expect(parseChunkByRecord(payload, opts(',', 2, 2))).toEqual(want);
    const quoted = B('\ufeff1,"2"\n3,4');
    expect(parseChunkWhole(quoted, opts(',', 2, 2))).toEqual(want);
    expect(parseChunkByRecord(quoted, opts(',', 2, 2))).toEqual(want);
  });

  it('goes record by record when a CR ends a line, where csv-parse would keep it as data', () => {
    const payload = B('"a",b\r\r\n"c",d\r');
    expect(parseChunkWhole(payload, opts(',', 2, 2))).toBeNull();
    expect(parseChunk(payload, opts(',', 2, 2)).rows).toEqual([['a', 'b'], ['c', 'd']]);
  });

  it('always returns expectedRows entries; a miscounted chunk fails every row rather than misnumber them', () => {
    for (const payload of [B('1,2\n3,4\n5,6'), B('"1",2\n3,4\n5,6')]) {
      const out = parseChunk(payload, opts(',', 2, 2));
      expect(out.rows).toEqual([null, null]);
      expect(out.errors).toEqual([expect.stringMatching(/holds 3 rows where 2 were stored/), expect.stringMatching(/holds 3 rows/)]);
      expect(parseChunk(payload, opts(',', 2, 4)).rows).toEqual([null, null, null, null]);
    }
    expect(parseChunk(Buffer.alloc(0), opts(',', 2, 0))).toEqual({ rows: [], errors: [] });
  });

  it('accepts a plain Uint8Array', () => {
    const u = new Uint8Array(B('x\n1,2\n"y",3'));
    expect(parseChunk(u.subarray(2), opts(',', 2, 2)).rows).toEqual([['1', '2'], ['y', '3']]);
    expect(parseChunk(u.subarray(2, 5), opts(',', 2, 1)).rows).toEqual([['1', '2']]);
  });

  it('refuses a delimiter it cannot honour', () => {
    expect(() => parseChunk(B('a'), opts('"', 1, 1))).toThrow(TypeError);
    expect(() => parseChunk(B('a'), opts('::', 1, 1))).toThrow(TypeError);
  });
});

describe('parseChunk differential against csv-parse, over generated files', () => {
  it('every path agrees with csv-parse record by record, and with the known rows', () => {
    const r = rng(20240611);
    const applied = { fast: 0, whole: 0, chunks: 0, raw: 0, rawFast: 0, rawWhole: 0 };
    for (let i = 0; i < 3000; i++) {
      const g = generateCsv(r, { defects: r() < 0.5 });
      const fieldCount = g.header.length;
      const chunkRows = 1 + Math.floor(r() * 12);

      // The whole file by csv-parse: the splitter's records are csv-parse's records.
      if (g.csvParseAgrees) {
        const all = parse(g.bytes, { delimiter: g.delimiter, relax_column_count: true, record_delimiter: ['\r\n', '\n'], skip_empty_lines: true, bom: true });
        expect(all.slice(1), `file ${i}`).toEqual(g.rows.map((t) => ('cells' in t ? t.cells : null)));
      }

      for (const chunk of chunksOf(g.bytes, chunkRows)) {
        const o = opts(g.delimiter, fieldCount, chunk.rowCount);
        const ref = reference(chunk.payload, g.delimiter, fieldCount);
        expect(ref.rows.length).toBe(chunk.rowCount);
        const what = `file ${i} chunk ${chunk.seq}`;
        const out = parseChunk(chunk.payload, o);
        expectMatchesReference(out, ref, what);
        expectMatchesTruth(out, g, chunk.firstRow, what);
        expect(parseChunkByRecord(chunk.payload, o), what).toEqual(out);
        const fast = parseChunkFast(chunk.payload, o);
        if (fast) {
          applied.fast++;
          expect(fast, what).toEqual(out);
        }
        const whole = parseChunkWhole(chunk.payload, o);
        if (whole) {
          applied.whole++;
          expect(whole, what).toEqual(out);
        }
        applied.chunks++;
      }

      // The data rows exactly as uploaded (CRLF, blank lines, CRs): not what the Chunker stores,
      // but parseChunk must still agree with the reference on them.
      const raw = rawData(g);
      const o = opts(g.delimiter, fieldCount, g.rows.length);
      const ref = reference(raw, g.delimiter, fieldCount);
      expect(ref.rows.length, `raw file ${i}`).toBe(g.rows.length);
      applied.raw++;
      const out = parseChunk(raw, o);
      expectMatchesReference(out, ref, `raw file ${i}`);
      expectMatchesTruth(out, g, 1, `raw file ${i}`);
      const fast = parseChunkFast(raw, o);
      if (fast) {
        applied.rawFast++;
        expect(fast).toEqual(out);
      }
      const whole = parseChunkWhole(raw, o);
      if (whole) {
        applied.rawWhole++;
        expect(whole).toEqual(out);
      }
    }
    // Each path must really have been exercised, or the agreement above proves nothing about it.
    expect(applied.fast).toBeGreaterThan(applied.chunks / 5);
    expect(applied.whole).toBeGreaterThan(applied.chunks / 5);
    expect(applied.rawFast).toBeGreaterThan(applied.raw / 10);
    expect(applied.rawWhole).toBeGreaterThan(applied.raw / 20); // raw data mostly has a CRLF somewhere
  });
});
