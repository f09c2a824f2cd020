import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { JsonLinesChunker, JsonLinesError } from '../../src/csv/ndjson.js';
import { lineOf, type Chunk } from '../../src/csv/records.js';

/** Feeds `text` in pieces of `size` bytes (cutting anywhere, inside characters too) and returns every chunk. */
function chunk(text: string | Buffer, size: number, opts: { chunkRows?: number; maxChunkBytes?: number; maxRecordBytes?: number } = {}) {
  const c = new JsonLinesChunker({ maxRecordBytes: opts.maxRecordBytes ?? 1024, chunkRows: opts.chunkRows, maxChunkBytes: opts.maxChunkBytes });
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const out: Chunk[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    c.push(bytes.subarray(i, i + size));
    out.push(...c.drain());
  }
  c.end();
  out.push(...c.drain());
  return { chunker: c, chunks: out };
}
const records = (chunks: Chunk[]) => chunks.flatMap((c) => JSON.parse(c.payload.toString('utf8')) as unknown[]);

describe('JSON Lines chunker', () => {
  const text = '\ufeff{"a": 1, "b": "x"}\r\n\n{"a": 2.50, "b": null}\nnot json\n  \n[1, 2]\n{"a": 3}';

  it.each([1, 2, 3, 7, 1000])('cuts records into JSON arrays the same way whatever the pieces (%i bytes at a time)', (size) => {
    const { chunker, chunks } = chunk(text, size, { chunkRows: 2 });
    expect(chunker.first).toEqual({ a: 1, b: 'x' });
    expect(chunker.rows).toBe(5);
    // A line that is not JSON is kept as its text (the worker fails that row); JSON that is not an object is kept as is.
    expect(records(chunks)).toEqual([{ a: 1, b: 'x' }, { a: 2.5, b: null }, 'not json', [1, 2], { a: 3 }]);
    expect(chunks.map((c) => [c.seq, c.firstRow, c.rowCount])).toEqual([[0, 1, 2], [1, 3, 2], [2, 5, 1]]);
    // Blank lines count for line numbers, not rows: rows 1..5 are on lines 1, 3, 4, 6, 7.
    expect(chunks.flatMap((c) => Array.from({ length: c.rowCount }, (_, i) => lineOf(c.lines, i)))).toEqual([1, 3, 4, 6, 7]);
  });

  it('keeps each JSON line as sent (numbers are not rewritten)', () => {
    const { chunks } = chunk('{"a": 1.000000000000000000001, "b": 1e2}\n', 5);
    expect(chunks[0].payload.toString()).toBe('[{"a": 1.000000000000000000001, "b": 1e2}]');
  });

  it('closes a chunk early rather than grow it past maxChunkBytes, and a single record always fits', () => {
    const line = JSON.stringify({ a: 'x'.repeat(40) });
    const { chunks } = chunk(`${line}\n${line}\n${line}\n`, 16, { maxChunkBytes: 2 * line.length + 2 });
    expect(chunks.map((c) => c.rowCount)).toEqual([1, 1, 1]);
    for (const c of chunks) expect(c.payload.length).toBeLessThanOrEqual(2 * line.length + 2);
    expect(chunk(`${line}\n${line}\n`, 16, { maxChunkBytes: 2 * line.length + 3 }).chunks.map((c) => c.rowCount)).toEqual([2]);
  });

  it('the first record must be a JSON object', () => {
    for (const bad of ['[1]\n{"a": 1}\n', '\n\nnope\n', '"text"\n', 'null\n']) {
      expect(() => chunk(bad, 4)).toThrow(JsonLinesError);
    }
    try {
      chunk('\n\n42\n', 100);
    } catch (err) {
      expect(err).toMatchObject({ code: 'invalid_records', line: 3 });
    }
  });

  it('a line over maxRecordBytes fails as it arrives, before its newline', () => {
    const c = new JsonLinesChunker({ maxRecordBytes: 100 });
    c.push(Buffer.from('{"a": 1}\n{"b": "'));
    let thrown: unknown;
    try {
      for (let i = 0; i < 10; i++) c.push(Buffer.from('y'.repeat(20)));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(JsonLinesError);
    expect(thrown).toMatchObject({ code: 'record_too_large', line: 2 });
    expect((thrown as Error).message).toMatch(/Line 2 is longer than 100 bytes \(MAX_RECORD_BYTES\)/);
  });
});
