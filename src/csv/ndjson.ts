import { Buffer } from 'node:buffer';
import { ChunkCutter } from './chunkCutter.js';
import { MAX_CHUNK_BYTES, DEFAULT_CHUNK_ROWS, type Chunk } from './records.js';

// JSON Lines uploads (application/x-ndjson, the OpenAI Batch API's input shape): one JSON object a
// line, keyed by column name. Lines become the same chunks single predictions use (format 'json':
// a JSON array of records), so the same workers score them. Each line is checked to be JSON here,
// so a chunk's array always parses; a line that is not becomes a JSON string in the array, which
// the worker turns into that row's error ("record is not an object"), as it does for a line that
// is JSON but not an object: one bad line fails its row, not the upload. Blank lines are skipped
// (they count for line numbers, not rows). Only the first record must be an object: its keys are
// the upload's columns, checked against the model before any row is accepted.

const LF = 10;
const CR = 13;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** A chunk's payload: its records as a JSON array. */
const JSON_FRAME = { open: Buffer.from('['), separator: 0x2c /* , */, close: Buffer.from(']') };

export type JsonLinesErrorCode = 'record_too_large' | 'invalid_records';

export class JsonLinesError extends Error {
  override readonly name = 'JsonLinesError';
  constructor(
    readonly code: JsonLinesErrorCode,
    message: string,
    /** 1-based line of the file. */
    readonly line: number,
  ) {
    super(message);
  }
}

export interface JsonLinesOptions {
  /** Longest line in bytes (MAX_RECORD_BYTES), checked as bytes arrive. */
  maxRecordBytes: number;
  chunkRows?: number;
  /** A chunk's JSON array is closed early rather than grow past this (one record always fits). */
  maxChunkBytes?: number;
}

/** Cuts JSON Lines into chunks of JSON arrays; push bytes, drain chunks, end once. */
export class JsonLinesChunker {
  /** The first record, once its line is in: its keys are the upload's columns. */
  first: Record<string, unknown> | null = null;
  private readonly max: number;
  private readonly cutter: ChunkCutter;
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private bomPending = true;
  private line = 0; // lines completed so far

  constructor(opts: JsonLinesOptions) {
    this.max = opts.maxRecordBytes;
    this.cutter = new ChunkCutter(JSON_FRAME, opts.chunkRows ?? DEFAULT_CHUNK_ROWS, opts.maxChunkBytes ?? MAX_CHUNK_BYTES);
  }

  /** Records seen so far (in drained, ready or pending chunks). */
  get rows(): number {
    return this.cutter.rows;
  }

  push(input: Uint8Array): void {
    let buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    if (this.bomPending) {
      if (this.carryBytes + buf.length < BOM.length) {
        this.carry.push(buf);
        this.carryBytes += buf.length;
        return;
      }
      this.bomPending = false;
      if (this.carryBytes) {
        buf = Buffer.concat([...this.carry, buf]);
        this.carry = [];
        this.carryBytes = 0;
      }
      if (buf.subarray(0, 3).equals(BOM)) buf = buf.subarray(3);
    }
    let start = 0;
    for (let nl = buf.indexOf(LF); nl !== -1; nl = buf.indexOf(LF, start)) {
      this.endLine(buf.subarray(start, nl));
      start = nl + 1;
    }
    if (start < buf.length) {
      this.carry.push(buf.subarray(start));
      this.carryBytes += buf.length - start;
      // Checked per push, not only at the newline, so an endless line cannot fill memory.
      if (this.carryBytes > this.max) throw this.tooLarge(this.line + 1);
    }
  }

  /** The last line when the input does not end with a newline; then the last chunk. */
  end(): void {
    this.bomPending = false;
    if (this.carryBytes) this.endLine(Buffer.alloc(0));
    this.cutter.flush();
  }

  /** Completed chunks since the last drain, in order. */
  drain(): Chunk[] {
    return this.cutter.drain();
  }

  private endLine(tail: Buffer): void {
    let line = tail;
    if (this.carryBytes) {
      line = Buffer.concat([...this.carry, tail], this.carryBytes + tail.length);
      this.carry = [];
      this.carryBytes = 0;
    }
    const at = ++this.line;
    if (line.length > this.max) throw this.tooLarge(at);
    let end = line.length;
    while (end > 0 && line[end - 1] === CR) end--;
    line = line.subarray(0, end);
    const text = line.toString('utf8');
    if (text.trim() === '') return;
    let value: unknown;
    let valid = true;
    try {
      value = JSON.parse(text);
    } catch {
      valid = false;
    }
    if (this.first === null) {
      if (!valid || value === null || typeof value !== 'object' || Array.isArray(value)) {
        const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
        throw new JsonLinesError('invalid_records', `Line ${at}, the first record, is not a JSON object (${JSON.stringify(shown)}): a JSON Lines upload is one object a line, keyed by column name, e.g. {"bill_length_mm": 39.1, "bill_depth_mm": 18.7}.`, at);
      }
      this.first = value as Record<string, unknown>;
    }
    // The line's own bytes when it is JSON (numbers stay as sent; copied into the chunk at flush,
    // as Chunker does); its text as a JSON string when not, so the array still parses and the
    // worker fails that row alone.
    this.cutter.add(valid ? line : Buffer.from(JSON.stringify(text)), at);
  }

  private tooLarge(line: number): JsonLinesError {
    return new JsonLinesError('record_too_large', `Line ${line} is longer than ${this.max} bytes (MAX_RECORD_BYTES).`, line);
  }
}
