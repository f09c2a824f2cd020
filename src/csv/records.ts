import { Buffer } from 'node:buffer';
import { ChunkCutter } from './chunkCutter.js';

// Record boundaries without parsing fields: a `"` toggles "inside quotes" (RFC 4180's doubled
// quote toggles twice, so it needs no special case) and a newline outside quotes ends a record.
// Every boundary csv-parse would accept is found this way; a stray quote makes the toggle span
// lines, and the parser then reports that one merged record as a bad row.
//
// Line endings are "\n" preceded by any number of "\r": stripping all of them (not just one)
// means a stored record never ends in "\r", so records re-joined by "\n" split back into exactly
// the same records (see Chunk.payload and splitRecords).

const LF = 10;
const CR = 13;
const QUOTE = 34;
const BOM = [0xef, 0xbb, 0xbf];
const EMPTY = Buffer.alloc(0);

/** 'invalid_csv' comes from parseHeader; all three are 422s for the upload. */
export type CsvLimitCode = 'record_too_large' | 'unterminated_quote' | 'invalid_csv';

export class CsvLimitError extends Error {
  override readonly name = 'CsvLimitError';
  constructor(
    readonly code: CsvLimitCode,
    message: string,
    /** 1-based among non-blank records, the header being record 1. */
    readonly record: number,
    /** 1-based physical line where the record (record_too_large) or the open quote (unterminated_quote) starts. */
    readonly line: number,
    /** 1-based data row (header excluded); set by Chunker, undefined for the header or a bare RecordSplitter. */
    readonly row?: number,
  ) {
    super(message);
  }
}

export interface SplitterOptions {
  /** Longest record, in bytes as uploaded (a CR before its newline counts, the newline does not). */
  maxRecordBytes?: number;
  /** Strip a UTF-8 BOM at the very start of the input (default true). */
  bom?: boolean;
  /** At end of input inside quotes: throw 'unterminated_quote' (default), or return the rest as a record. */
  openQuoteAtEnd?: 'throw' | 'keep';
}

export class RecordSplitter {
  private readonly max: number;
  private readonly keepOpenQuote: boolean;
  private bomPending: boolean;
  private head: Buffer | null = null; // first bytes, held while they could still be a split BOM
  private inQuote = false;
  private carry: Buffer[] = []; // the record in progress, from earlier pushes
  private carryBytes = 0;
  private records = 0;
  private line = 1;
  private recordLine = 1;
  private quoteLine = 1;
  /** The 1-based line each record of the last push()/end() starts on, in order (for row errors). */
  recordLines: number[] = [];

  constructor(opts: SplitterOptions = {}) {
    this.max = opts.maxRecordBytes ?? Infinity;
    this.bomPending = opts.bom ?? true;
    this.keepOpenQuote = opts.openQuoteAtEnd === 'keep';
  }

  /** Complete records found so far in the input, each without its line ending; blank lines are skipped. */
  push(chunk: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    this.recordLines = [];
    let buf = asBuffer(chunk);
    if (this.bomPending) {
      const b = this.head ? Buffer.concat([this.head, buf]) : buf;
      if (b.length < BOM.length && isBomPrefix(b)) {
        this.head = b;
        return out;
      }
      this.head = null;
      this.bomPending = false;
      buf = isBomPrefix(b) ? b.subarray(BOM.length) : b;
    }
    this.scan(buf, out);
    return out;
  }

  /** The last record when the input does not end with a newline; throws if a quote is still open. */
  end(): Buffer[] {
    const out: Buffer[] = [];
    this.recordLines = [];
    if (this.head) {
      const h = this.head;
      this.head = null;
      this.bomPending = false;
      this.scan(h, out);
    }
    if (this.inQuote && !this.keepOpenQuote) {
      throw new CsvLimitError(
        'unterminated_quote',
        `Record ${this.records + 1} has a quote opened on line ${this.quoteLine} that is never closed.`,
        this.records + 1,
        this.quoteLine,
      );
    }
    if (this.carryBytes > 0) this.emit(EMPTY, 0, 0, out);
    this.inQuote = false;
    return out;
  }

  private scan(buf: Buffer, out: Buffer[]): void {
    const n = buf.length;
    let pos = 0;
    let start = 0;
    // Next newline / quote at or after pos: -2 not searched yet, -1 none left in buf. Caching them
    // keeps the scan linear when one of the two is far away (or absent).
    let nl = -2;
    let q = -2;
    let inQuote = this.inQuote;
    while (pos < n) {
      if (q !== -1 && q < pos) q = nextQuote(buf, pos);
      if (inQuote) {
        const close = q === -1 ? n : q;
        for (;;) {
          if (nl !== -1 && nl < pos) nl = buf.indexOf(LF, pos);
          if (nl === -1 || nl >= close) break;
          this.line++;
          pos = nl + 1;
        }
        if (q === -1) break;
        inQuote = false;
        pos = q + 1;
        continue;
      }
      if (nl !== -1 && nl < pos) nl = buf.indexOf(LF, pos);
      if (q !== -1 && (nl === -1 || q < nl)) {
        inQuote = true;
        this.quoteLine = this.line;
        pos = q + 1;
        continue;
      }
      if (nl === -1) break;
      this.emit(buf, start, nl, out);
      this.line++;
      this.recordLine = this.line;
      pos = start = nl + 1;
    }
    this.inQuote = inQuote;
    if (start < n) {
      this.carry.push(buf.subarray(start));
      this.carryBytes += n - start;
      // Checked per push, not only at the newline, so an endless record cannot fill memory.
      if (this.carryBytes > this.max) throw this.tooLarge(inQuote);
    }
  }

  private emit(buf: Buffer, start: number, end: number, out: Buffer[]): void {
    if (this.carryBytes > 0) {
      this.carry.push(buf.subarray(start, end));
      buf = Buffer.concat(this.carry, this.carryBytes + end - start);
      start = 0;
      end = buf.length;
      this.carry = [];
      this.carryBytes = 0;
    }
    if (end - start > this.max) throw this.tooLarge(false);
    while (end > start && buf[end - 1] === CR) end--;
    if (end === start) return;
    this.records++;
    this.recordLines.push(this.recordLine);
    out.push(buf.subarray(start, end));
  }

  private tooLarge(openQuote: boolean): CsvLimitError {
    return new CsvLimitError(
      'record_too_large',
      `Record ${this.records + 1} (starting on line ${this.recordLine}) is longer than ${this.max} bytes` +
        (openQuote ? `; perhaps the quote opened on line ${this.quoteLine} is never closed.` : '.'),
      this.records + 1,
      this.recordLine,
    );
  }
}

/**
 * A chunk payload's records. No size limit and no BOM stripping (a payload is never the start of
 * a file), and an open quote at the end stays in the last record for the parser to report.
 */
export function splitRecords(payload: Uint8Array): Buffer[] {
  const s = new RecordSplitter({ bom: false, openQuoteAtEnd: 'keep' });
  const out = s.push(payload);
  for (const r of s.end()) out.push(r);
  return out;
}

export interface Chunk {
  /** 0-based. */
  seq: number;
  /** 1-based data row number of the first record (header excluded, blank lines not counted). */
  firstRow: number;
  rowCount: number;
  /** The records joined by "\n", without line endings (and no trailing newline). */
  payload: Buffer;
  /** Where its records stand in the file, so a row error can name its line (see lineOf). */
  lines: ChunkLines;
}

/**
 * The file line of each record of a chunk: `first` for its first record, then one line per record,
 * except where a record spans lines (a quoted newline) or blank lines come before it: `jumps` holds
 * [row index, extra lines from there on] pairs, flat, only where that count changes (null: none).
 */
export interface ChunkLines {
  first: number;
  jumps: number[] | null;
}

/** The 1-based file line of the chunk's record `index` (0-based). */
export function lineOf(lines: ChunkLines, index: number): number {
  let extra = 0;
  const j = lines.jumps;
  if (j) for (let k = 0; k < j.length && j[k] <= index; k += 2) extra = j[k + 1];
  return lines.first + index + extra;
}

export interface ChunkerOptions {
  maxRecordBytes: number;
  chunkRows?: number;
  /** A chunk is closed early rather than grow its payload past this (a single record always fits). */
  maxChunkBytes?: number;
}

export const DEFAULT_CHUNK_ROWS = 5000;
/**
 * The largest chunk payload (a single longer record still gets a chunk of its own). The api holds
 * one chunk of an upload in memory at a time, so this bounds what an upload costs it
 * (docs/benchmarks.md, api memory), and keeps a job_chunks row small for the worker's COPY.
 */
export const MAX_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * The first record is the header; data records are grouped into chunks of `chunkRows`. Pushed
 * buffers are referenced (not copied) until their records are copied into a chunk payload, so
 * they must not be modified after push; Node streams never reuse the buffers they emit.
 */
export class Chunker {
  header: Buffer | null = null;
  private readonly splitter: RecordSplitter;
  private readonly cutter: ChunkCutter;

  constructor(opts: ChunkerOptions) {
    this.splitter = new RecordSplitter({ maxRecordBytes: opts.maxRecordBytes });
    this.cutter = new ChunkCutter(CSV_FRAME, opts.chunkRows ?? DEFAULT_CHUNK_ROWS, opts.maxChunkBytes ?? MAX_CHUNK_BYTES);
  }

  /** Data rows seen so far (in drained, ready or pending chunks). */
  get rows(): number {
    return this.cutter.rows;
  }

  push(buf: Uint8Array): void {
    this.take(this.split(() => this.splitter.push(buf)), this.splitter.recordLines);
  }

  end(): void {
    this.take(this.split(() => this.splitter.end()), this.splitter.recordLines);
    this.cutter.flush();
  }

  /** Completed chunks since the last drain, in order. */
  drain(): Chunk[] {
    return this.cutter.drain();
  }

  private split(f: () => Buffer[]): Buffer[] {
    try {
      return f();
    } catch (err) {
      if (!(err instanceof CsvLimitError)) throw err;
      const where = err.record === 1 ? 'The header record' : `Data row ${err.record - 1}`;
      throw new CsvLimitError(err.code, err.message.replace(/^Record \d+/, where), err.record, err.line, err.record > 1 ? err.record - 1 : undefined);
    }
  }

  private take(records: Buffer[], lines: number[]): void {
    for (let r = 0; r < records.length; r++) {
      const rec = records[r];
      if (this.header === null) {
        this.header = Buffer.from(rec); // a copy, so it does not pin the upload's first buffer
        continue;
      }
      this.cutter.add(rec, lines[r]);
    }
  }
}

/** A CSV chunk's payload: its records joined by "\n". */
const CSV_FRAME = { open: Buffer.alloc(0), separator: LF, close: Buffer.alloc(0) };

// Quoted files put quotes a few bytes apart, where a native indexOf call costs more than
// looking at the bytes; a short JS look first, then indexOf for the long stretches.
function nextQuote(buf: Buffer, from: number): number {
  const stop = Math.min(from + 16, buf.length);
  for (let i = from; i < stop; i++) if (buf[i] === QUOTE) return i;
  return stop === buf.length ? -1 : buf.indexOf(QUOTE, stop);
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function isBomPrefix(b: Buffer): boolean {
  for (let i = 0; i < BOM.length; i++) {
    if (i >= b.length) return true;
    if (b[i] !== BOM[i]) return false;
  }
  return true;
}
