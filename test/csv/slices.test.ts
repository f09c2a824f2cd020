// Large CSV parts are cut into slices that parse, one after another, exactly as the whole part does.
import { describe, expect, it } from 'vitest';
import { parseChunk } from '../../src/csv/parse.js';
import { splitRecords } from '../../src/csv/records.js';
import { csvSlices } from '../../src/csv/slices.js';

describe('csvSlices', () => {
  const splitRecordsCount = (payload: Uint8Array) => splitRecords(payload).length;
  const enc = (text: string) => new TextEncoder().encode(text);
  const opts = (expectedRows: number) => ({ delimiter: ',', fieldCount: 5, expectedRows });
  // CRLF and LF endings, blank lines (CR-only too), a ragged row and a non-numeric cell, no final newline.
  const text = 'a,1,2,3,4\r\nb,2,3,4,5\n\n\r\nc,x,3,4,5\nd,1,2\r\r\ne,5,6,7,8\n\r\r\nf,1,1,1,1\ng,2,2,2,2\nh,3,3,3,3';

  it('cuts after newlines into slices that parse, one after another, exactly as the whole part does', () => {
    const whole = parseChunk(enc(text), opts(8));
    for (const per of [1, 2, 3, 7]) {
      const slices = csvSlices(enc(text), 8, per)!;
      expect(slices.map((s) => s.rows)).toEqual(Array.from({ length: Math.ceil(8 / per) }, (_, i) => Math.min(per, 8 - i * per)));
      const parsed = slices.map((s) => parseChunk(s.bytes, opts(s.rows)));
      expect(parsed.flatMap((p) => p.rows)).toEqual(whole.rows);
      expect(parsed.flatMap((p) => p.errors)).toEqual(whole.errors);
    }
  });

  it('cuts between records when quotes, NUL bytes or invalid UTF-8 rule out line by line, again parsing as the whole part does', () => {
    const bytes = (...xs: (string | number[])[]) => new Uint8Array(xs.flatMap((x) => (typeof x === 'string' ? [...enc(x)] : x)));
    const payloads = [
      // quoted cells, a quoted newline and CRLF, a doubled quote, a bad quote, CR-only and blank lines between records
      bytes('"a,1",1,2,3,4\r\nb,"2\n",3,4,5\n\r\n"c""",1,1,1,1\nd,1"x",1,1,1\r\r\n\ne,1,2,3,4\nf,"1\r\n2",3,4,5\ng,1,2,3,4'),
      // a NUL byte and invalid UTF-8 in otherwise plain rows, a final newline
      bytes('a,1,2,3,4\nb,1,2\u0000,3,4\nc,1,2,3,4\nd,', [0xff], ',2,3,4\ne,1,2,3,4\n'),
      // a quote left open at the end: the last record runs to the end of the payload
      bytes('a,1,2,3,4\nb,1,2,3,4\nc,1,2,3,4\nd,"1,2,3,4\ne,1,2,3,4'),
    ];
    for (const payload of payloads) {
      const n = splitRecordsCount(payload);
      const whole = parseChunk(payload, opts(n));
      for (const per of [1, 2, 3]) {
        const slices = csvSlices(payload, n, per)!;
        expect(slices.reduce((a, s) => a + s.rows, 0)).toBe(n);
        const parsed = slices.map((s) => parseChunk(s.bytes, opts(s.rows)));
        expect(parsed.flatMap((p) => p.rows)).toEqual(whole.rows);
        expect(parsed.flatMap((p) => p.errors)).toEqual(whole.errors);
      }
    }
  });

  it('leaves a part whole when there is nothing to cut, or its records do not add up to its row count', () => {
    expect(csvSlices(enc(text), 8, 8)).toBeNull(); // one slice's worth
    expect(csvSlices(enc(text), 9, 3)).toBeNull(); // line by line: the whole part reports the miscount
    expect(csvSlices(enc('"a,1",1,2,3,4\nb,1,2,3,4\nc,1,2,3,4'), 4, 1)).toBeNull(); // record by record, likewise
  });
});
