import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { Chunker, CsvLimitError, lineOf, RecordSplitter, splitRecords, type Chunk } from '../../src/csv/records.js';
import { generateCsv, randomPieces, rng } from './generate.js';

const B = (s: string) => Buffer.from(s, 'utf8');
const strs = (bufs: Buffer[]) => bufs.map((b) => b.toString('utf8'));

function splitAll(pieces: Buffer[], opts: ConstructorParameters<typeof RecordSplitter>[0] = {}): string[] {
  const s = new RecordSplitter(opts);
  const out: Buffer[] = [];
  for (const p of pieces) out.push(...s.push(p));
  out.push(...s.end());
  return strs(out);
}

/** Byte-at-a-time reference: the definition the fast scanner must match. */
function oracle(bytes: Buffer): string[] {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const out: string[] = [];
  let inQuote = false;
  let start = i;
  const take = (end: number) => {
    while (end > start && bytes[end - 1] === 13) end--;
    if (end > start) out.push(bytes.subarray(start, end).toString('utf8'));
  };
  for (; i < bytes.length; i++) {
    if (bytes[i] === 34) inQuote = !inQuote;
    else if (bytes[i] === 10 && !inQuote) {
      take(i);
      start = i + 1;
    }
  }
  if (inQuote) throw new Error('unterminated');
  take(bytes.length);
  return out;
}

function everySplit(text: string | Buffer, expected: string[], opts: ConstructorParameters<typeof RecordSplitter>[0] = {}) {
  const bytes = typeof text === 'string' ? B(text) : text;
  expect(splitAll([bytes], opts)).toEqual(expected);
  for (let cut = 0; cut <= bytes.length; cut++) {
    expect(splitAll([bytes.subarray(0, cut), bytes.subarray(cut)], opts), `cut at ${cut}`).toEqual(expected);
  }
  const single = Array.from(bytes, (b) => Buffer.from([b]));
  expect(splitAll(single, opts), 'one byte at a time').toEqual(expected);
}

function limitError(f: () => unknown): CsvLimitError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(CsvLimitError);
    return err as CsvLimitError;
  }
  throw new Error('expected a CsvLimitError');
}

describe('RecordSplitter', () => {
  it.each([
    ['LF', 'a,b\n1,2\n3,4\n', ['a,b', '1,2', '3,4']],
    ['CRLF', 'a,b\r\n1,2\r\n3,4\r\n', ['a,b', '1,2', '3,4']],
    ['mixed CRLF and LF', 'a,b\r\n1,2\n3,4\r\n5,6', ['a,b', '1,2', '3,4', '5,6']],
    ['no final newline', 'a,b\n1,2', ['a,b', '1,2']],
    ['final CR without LF', 'a,b\n1,2\r', ['a,b', '1,2']],
    ['blank lines of every kind', '\n\r\na,b\n\n\r\n\r\r\n1,2\n\r\n\n', ['a,b', '1,2']],
    ['spaces-only line is a record', 'a\n  \nb', ['a', '  ', 'b']],
    ['quoted delimiter', 'a,"x,y",b\n', ['a,"x,y",b']],
    ['doubled quotes', '"say ""hi""",2\n3,4', ['"say ""hi""",2', '3,4']],
    ['LF inside quotes', '"line1\nline2",2\n3,4\n', ['"line1\nline2",2', '3,4']],
    ['CRLF inside quotes, kept', '"line1\r\nline2",2\r\n3,4\r\n', ['"line1\r\nline2",2', '3,4']],
    ['long quoted fields and long gaps between quotes', `${'1'.repeat(40)},"${'x'.repeat(30)}\n${'y'.repeat(30)}",2\n${'z'.repeat(40)}\n"a"`, [`${'1'.repeat(40)},"${'x'.repeat(30)}\n${'y'.repeat(30)}",2`, 'z'.repeat(40), '"a"']],
    ['quoted field only newlines', '"\n\n\n"\nx', ['"\n\n\n"', 'x']],
    ['quoted CR before the newline is data', '"a\r"\r\nb', ['"a\r"', 'b']],
    ['empty quoted field', '""\n""""\n', ['""', '""""']],
    ['BOM stripped', '\ufeffa,b\n1,2', ['a,b', '1,2']],
    ['BOM then blank line', '\ufeff\r\na,b', ['a,b']],
    ['BOM only', '\ufeff', []],
    ['empty input', '', []],
    ['only blank lines', '\r\n\n\r\n', []],
    ['tab delimiter untouched', 'a\tb\n1\t2', ['a\tb', '1\t2']],
    ['a mid-line CR is data', 'a\rb,c\n', ['a\rb,c']],
    ['stray quote swallows lines until the next quote', 'a,b"c\nd\ne"f\ng', ['a,b"c\nd\ne"f', 'g']],
  ])('%s', (_name, text, expected) => {
    expect(oracle(B(text))).toEqual(expected);
    everySplit(text, expected);
  });

  it('keeps a BOM that is not at the very start, and a partial BOM, as data', () => {
    everySplit('a\n\ufeffb', ['a', '\ufeffb']);
    everySplit(Buffer.from([0xef, 0xbb, 0x41, 0x0a, 0x42]), [Buffer.from([0xef, 0xbb, 0x41]).toString(), 'B']);
    everySplit(Buffer.from([0xef, 0xbb]), [Buffer.from([0xef, 0xbb]).toString()]);
    expect(splitAll([B('\ufeffa')], { bom: false })).toEqual(['\ufeffa']);
  });

  it('matches the byte-at-a-time reference on generated files, however the input is cut', () => {
    const r = rng(1);
    for (let i = 0; i < 400; i++) {
      const g = generateCsv(r, { defects: true });
      const expected = oracle(g.bytes);
      expect(expected.length).toBe(1 + g.rows.length);
      expect(splitAll([g.bytes])).toEqual(expected);
      expect(splitAll(randomPieces(r, g.bytes)), `file ${i}`).toEqual(expected);
    }
  });

  it('returns records as views of the input when a record lies within one push', () => {
    const input = B('a,b\n1,2\n');
    const [rec] = new RecordSplitter().push(input);
    expect(rec.buffer).toBe(input.buffer);
  });

  describe('maxRecordBytes', () => {
    it('accepts a record of exactly the limit and refuses one byte more, at every cut', () => {
      const ok = `${'x'.repeat(10)}\n${'y'.repeat(10)}`;
      everySplit(ok, ['x'.repeat(10), 'y'.repeat(10)], { maxRecordBytes: 10 });
      everySplit(`${'x'.repeat(9)}\r\n`, ['x'.repeat(9)], { maxRecordBytes: 10 });
      for (const text of [`h\n${'x'.repeat(10)}\n${'y'.repeat(11)}\nz\n`, `h\n${'x'.repeat(10)}\n${'y'.repeat(11)}`]) {
        const bytes = B(text);
        for (let cut = 0; cut <= bytes.length; cut++) {
          const err = limitError(() => splitAll([bytes.subarray(0, cut), bytes.subarray(cut)], { maxRecordBytes: 10 }));
          expect(err.code).toBe('record_too_large');
          expect(err.record).toBe(3);
          expect(err.line).toBe(3);
          expect(err.message).toMatch(/^Record 3 \(starting on line 3\) is longer than 10 bytes/);
        }
      }
    });

    it('counts a CR before the newline, not the newline', () => {
      expect(splitAll([B('123456789\r\n')], { maxRecordBytes: 10 })).toEqual(['123456789']);
      expect(limitError(() => splitAll([B('1234567890\r\n')], { maxRecordBytes: 10 })).code).toBe('record_too_large');
    });

    it('refuses an endless record while it streams, before the end of input', () => {
      const s = new RecordSplitter({ maxRecordBytes: 100 });
      s.push(B('a,b\n"open quote and'));
      const err = limitError(() => {
        for (let i = 0; i < 10; i++) s.push(B('x'.repeat(20)));
      });
      expect(err.code).toBe('record_too_large');
      expect(err.message).toContain('the quote opened on line 2');
      const closed = limitError(() => splitAll([B('a\n"' + 'x'.repeat(20)), B('"' + 'y'.repeat(100) + '\n')], { maxRecordBytes: 100 }));
      expect(closed.message).toBe('Record 2 (starting on line 2) is longer than 100 bytes.');
    });

    it('counts lines inside quotes and blank lines for the line number', () => {
      const text = 'h\n\n"a\nb\nc",1\n\r\n' + 'z'.repeat(20) + '\n';
      const err = limitError(() => splitAll([B(text)], { maxRecordBytes: 10 }));
      expect([err.record, err.line]).toEqual([3, 7]);
    });
  });

  describe('unterminated quote', () => {
    it('reports the record and the line where the quote opened, at every cut', () => {
      const bytes = B('h\n1,2\n\n3,"abc\ndef\n');
      for (let cut = 0; cut <= bytes.length; cut++) {
        const err = limitError(() => splitAll([bytes.subarray(0, cut), bytes.subarray(cut)]));
        expect(err.code).toBe('unterminated_quote');
        expect([err.record, err.line]).toEqual([3, 4]);
      }
    });

    it('is an error only at the end of input', () => {
      const s = new RecordSplitter();
      expect(strs(s.push(B('a\n"b')))).toEqual(['a']);
      expect(strs(s.push(B('\nc"\n')))).toEqual(['"b\nc"']);
      expect(s.end()).toEqual([]);
    });
  });

  it('splitRecords: a payload splits back into the records it was joined from', () => {
    const r = rng(2);
    for (let i = 0; i < 200; i++) {
      const recs = splitAll([generateCsv(r, { defects: true }).bytes]);
      expect(strs(splitRecords(B(recs.join('\n'))))).toEqual(recs);
    }
    expect(strs(splitRecords(B('a\n"open')))).toEqual(['a', '"open']);
    expect(strs(splitRecords(B('\ufeffa')))).toEqual(['\ufeffa']);
  });
});

function chunkAll(pieces: Buffer[], opts: ConstructorParameters<typeof Chunker>[0]) {
  const c = new Chunker(opts);
  const chunks: Chunk[] = [];
  for (const p of pieces) {
    c.push(p);
    chunks.push(...c.drain());
  }
  c.end();
  chunks.push(...c.drain());
  return { header: c.header?.toString('utf8') ?? null, chunks, rows: c.rows };
}

describe('Chunker', () => {
  const file = ['\ufeff id , x ', '1,a', '', '2,"b\nb"', '3,c', '\r', '4,d', '5,e', '6,f', '7,g'].join('\r\n') + '\n';

  it('takes the first record as the header and numbers data rows from 1, blank lines not counted', () => {
    const { header, chunks, rows } = chunkAll([B(file)], { maxRecordBytes: 1000, chunkRows: 3 });
    expect(header).toBe(' id , x ');
    expect(rows).toBe(7);
    expect(chunks.map((c) => [c.seq, c.firstRow, c.rowCount])).toEqual([
      [0, 1, 3],
      [1, 4, 3],
      [2, 7, 1],
    ]);
    expect(chunks.map((c) => c.payload.toString())).toEqual(['1,a\n2,"b\nb"\n3,c', '4,d\n5,e\n6,f', '7,g']);
  });

  it('gives the same chunks however the upload is cut', () => {
    const whole = chunkAll([B(file)], { maxRecordBytes: 1000, chunkRows: 2 });
    const r = rng(3);
    for (let i = 0; i < 50; i++) expect(chunkAll(randomPieces(r, B(file)), { maxRecordBytes: 1000, chunkRows: 2 })).toEqual(whole);
    const bytes = B(file);
    expect(chunkAll(Array.from(bytes, (b) => Buffer.from([b])), { maxRecordBytes: 1000, chunkRows: 2 })).toEqual(whole);
  });

  it('closes a chunk early rather than exceed maxChunkBytes; a single larger record still gets a chunk', () => {
    const text = 'h\n' + ['aaaa', 'bbbb', 'cccc', 'dddddddddddd', 'ee'].join('\n');
    const { chunks } = chunkAll([B(text)], { maxRecordBytes: 100, chunkRows: 100, maxChunkBytes: 9 });
    expect(chunks.map((c) => c.payload.toString())).toEqual(['aaaa\nbbbb', 'cccc', 'dddddddddddd', 'ee']);
    expect(chunks.map((c) => c.firstRow)).toEqual([1, 3, 4, 5]);
    for (const c of chunks.slice(0, 2)) expect(c.payload.length).toBeLessThanOrEqual(9);
  });

  it('numbers rows and chunks continuously over generated files, and joins exactly the data records', () => {
    const r = rng(4);
    for (let i = 0; i < 200; i++) {
      const g = generateCsv(r, { defects: true, rows: [0, 60] });
      const chunkRows = 1 + Math.floor(r() * 7);
      const { header, chunks, rows } = chunkAll(randomPieces(r, g.bytes), { maxRecordBytes: 1 << 20, chunkRows });
      const records = oracle(g.bytes);
      expect(header).toBe(records[0]);
      expect(rows).toBe(g.rows.length);
      expect(chunks.length).toBe(Math.ceil(g.rows.length / chunkRows));
      let next = 1;
      chunks.forEach((c, k) => {
        expect(c.seq).toBe(k);
        expect(c.firstRow).toBe(next);
        expect(c.rowCount).toBe(k < chunks.length - 1 ? chunkRows : g.rows.length - chunkRows * k);
        expect(c.payload.toString('utf8')).toBe(records.slice(next, next + c.rowCount).join('\n'));
        next += c.rowCount;
      });
    }
  });

  it('names the data row (or the header) in limit errors', () => {
    let err = limitError(() => chunkAll([B('h\n1\n\n' + 'x'.repeat(50) + '\n')], { maxRecordBytes: 10 }));
    expect([err.code, err.row, err.line]).toEqual(['record_too_large', 2, 4]);
    expect(err.message).toMatch(/^Data row 2 \(starting on line 4\) is longer than 10 bytes\.$/);
    err = limitError(() => chunkAll([B('x'.repeat(50))], { maxRecordBytes: 10 }));
    expect(err.row).toBeUndefined();
    expect(err.message).toMatch(/^The header record /);
    err = limitError(() => chunkAll([B('h\n1\n2,"x\n')], { maxRecordBytes: 100 }));
    expect([err.code, err.row, err.line]).toEqual(['unterminated_quote', 2, 3]);
    expect(err.message).toBe('Data row 2 has a quote opened on line 3 that is never closed.');
  });

  it('has no header and no chunks for an empty or blank upload', () => {
    expect(chunkAll([B('\ufeff\r\n\n')], { maxRecordBytes: 10 })).toEqual({ header: null, chunks: [], rows: 0 });
    expect(chunkAll([B('a,b\r\n')], { maxRecordBytes: 10 })).toEqual({ header: 'a,b', chunks: [], rows: 0 });
  });

  it('copies the header, so it does not depend on the pushed buffer', () => {
    const buf = B('a,b\n1,2\n');
    const c = new Chunker({ maxRecordBytes: 100 });
    c.push(buf);
    buf.fill(0x7a);
    expect(c.header!.toString()).toBe('a,b');
  });
});

describe('chunk lines', () => {
  it('knows the file line of every record: blank lines, quoted newlines and CRLF included', () => {
    // line 1 header; 2 r1; 3 blank; 4-5 r2 (quoted newline); 6 r3; 7 r4 (CRLF); 8 r5
    const c = new Chunker({ maxRecordBytes: 100, chunkRows: 3 });
    c.push(B('h1,h2\n1,a\n\n2,"b\nc"\n3,d\n4,e\r\n5,f'));
    c.end();
    const chunks = c.drain();
    const lines = chunks.flatMap((ch) => Array.from({ length: ch.rowCount }, (_, i) => lineOf(ch.lines, i)));
    expect(lines).toEqual([2, 4, 6, 7, 8]);
    expect(chunks[1].lines).toEqual({ first: 7, jumps: null });
  });

  it('counts lines across pushes cut anywhere', () => {
    const text = 'h\n\n1\n"2\n\n"\n3\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const c = new Chunker({ maxRecordBytes: 100, chunkRows: 10 });
      c.push(B(text.slice(0, cut)));
      c.push(B(text.slice(cut)));
      c.end();
      const [ch] = c.drain();
      expect(Array.from({ length: ch.rowCount }, (_, i) => lineOf(ch.lines, i))).toEqual([3, 4, 7]);
    }
  });
});
