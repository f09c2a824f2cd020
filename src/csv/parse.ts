import { Buffer, isUtf8 } from 'node:buffer';
import { parse, type Options } from 'csv-parse/sync';
import { splitRecords } from './records.js';

// A chunk's rows, defined record by record: splitRecords finds the records, csv-parse is the
// reference for each one's cells. The two whole-chunk paths below are shortcuts that give the
// same answer when they apply, and step aside (return null) when they might not.

const LF = 10;
const CR = 13;
const QUOTE = 34;

export interface ChunkParseOptions {
  delimiter: string;
  fieldCount: number;
  expectedRows: number;
}

/**
 * Exactly `expectedRows` entries: row i is its cells (fieldCount strings, untrimmed), or null when
 * it could not be read; errors[i] says why a row is not to be scored (a ragged row keeps its cells).
 */
export interface ParsedChunk {
  rows: (string[] | null)[];
  errors: (string | null)[];
}

/** csv-parse settings for Sluice's dialect; skip_empty_lines matches the splitter's blank lines for canonical payloads. */
export function csvParseOptions(delimiter: string): Options {
  assertDelimiter(delimiter);
  return {
    delimiter,
    quote: '"',
    escape: '"',
    record_delimiter: ['\r\n', '\n'], // explicit: auto-detection would lock onto the first ending seen and break mixed files
    relax_column_count: true, // ragged rows are reported per row, not as a chunk-wide failure
    skip_empty_lines: true,
    bom: false, // the splitter strips the file's BOM; one inside a chunk is data
    cast: false,
    encoding: 'utf8',
  };
}

export function parseChunk(payload: Uint8Array, opts: ChunkParseOptions): ParsedChunk {
  const buf = asBuffer(payload);
  return parseChunkFast(buf, opts) ?? parseChunkWhole(buf, opts) ?? parseChunkByRecord(buf, opts);
}

/** No quote anywhere: every newline ends a record, so split lines, then cells. Null when it does not apply. */
export function parseChunkFast(payload: Uint8Array, opts: ChunkParseOptions): ParsedChunk | null {
  const buf = asBuffer(payload);
  if (!isLineByLine(buf)) return null;
  assertDelimiter(opts.delimiter);
  const out = emptyResult(opts.expectedRows);
  let row = 0;
  let overflow = false;
  forEachDataLine(buf, (start, end) => {
    if (row === opts.expectedRows) overflow = true;
    else setRow(out, row++, buf.toString('utf8', start, end).split(opts.delimiter), opts.fieldCount);
  });
  return !overflow && row === opts.expectedRows ? out : null;
}

/** A payload read line by line: no quote anywhere, and clean UTF-8 text, so every newline ends a record. */
export function isLineByLine(buf: Buffer): boolean {
  return buf.indexOf(QUOTE) === -1 && isCleanText(buf);
}

/**
 * The data lines of a payload read line by line, in order: each LF ends a line, CRs before it (or
 * at the very end) are line ending, not data, and a line of nothing else is blank and holds no row.
 * `fn` gets the line's data as [start, end) and where the next line starts.
 */
export function forEachDataLine(buf: Buffer, fn: (start: number, end: number, next: number) => void): void {
  for (let at = 0; at < buf.length; ) {
    let nl = buf.indexOf(LF, at);
    if (nl === -1) nl = buf.length;
    let end = nl;
    while (end > at && buf[end - 1] === CR) end--;
    const next = Math.min(nl + 1, buf.length);
    if (end > at) fn(at, end, next);
    at = nl + 1;
  }
}

/** csv-parse over the whole chunk. Null when it throws, miscounts, or the payload is not canonical. */
export function parseChunkWhole(payload: Uint8Array, opts: ChunkParseOptions): ParsedChunk | null {
  const buf = asBuffer(payload);
  // A CR before a newline (or at the end) is a line ending to the splitter but may be data to
  // csv-parse ("a\r\r\n" → "a\r"). Chunker payloads never have one outside quotes; anything
  // that does goes record by record.
  if (!isCleanText(buf) || hasCrAtLineEnd(buf)) return null;
  let records: string[][];
  try {
    records = parse(buf, csvParseOptions(opts.delimiter));
  } catch {
    return null;
  }
  if (records.length !== opts.expectedRows) return null;
  const out = emptyResult(opts.expectedRows);
  for (let i = 0; i < records.length; i++) setRow(out, i, records[i], opts.fieldCount);
  return out;
}

/** The reference path: each record on its own, so one bad record fails only itself. */
export function parseChunkByRecord(payload: Uint8Array, opts: ChunkParseOptions): ParsedChunk {
  const records = splitRecords(payload);
  const out = emptyResult(opts.expectedRows);
  if (records.length !== opts.expectedRows) {
    // Rows cannot be matched to their numbers; scoring any of them could misattribute results.
    const msg = `this chunk holds ${records.length} rows where ${opts.expectedRows} were stored; no row of it was scored (please report this)`;
    out.errors.fill(msg);
    return out;
  }
  for (let i = 0; i < records.length; i++) {
    const r = parseRecord(records[i], opts.delimiter);
    if (typeof r === 'string') out.errors[i] = r;
    else setRow(out, i, r, opts.fieldCount);
  }
  return out;
}

/** One record's cells, or why it is not a CSV record. */
export function parseRecord(record: Buffer, delimiter: string): string[] | string {
  if (record.indexOf(0) !== -1) return 'contains a NUL byte: this looks like binary data, not CSV text';
  if (!isUtf8(record)) return 'invalid UTF-8: save the file with UTF-8 encoding';
  if (record.indexOf(QUOTE) === -1) {
    assertDelimiter(delimiter);
    return record.toString('utf8').split(delimiter);
  }
  let recs: string[][];
  try {
    recs = parse(record, csvParseOptions(delimiter));
  } catch (err) {
    return explainCsvError(err);
  }
  if (recs.length !== 1) return `malformed row: it reads as ${recs.length} CSV records`;
  return recs[0];
}

/** csv-parse's errors, reworded for the person who will fix the file (its line numbers are relative to the chunk, so they are left out). */
export function explainCsvError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'unbalanced quote: a quoted field is never closed';
    case 'INVALID_OPENING_QUOTE':
      return 'unexpected quote inside an unquoted field: quote the whole field and double the quotes inside it ("")';
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return 'unexpected text after a closing quote: a quote inside a quoted field must be doubled ("")';
    default:
      return `malformed CSV: ${(err as Error)?.message ?? String(err)}`;
  }
}

// A ragged row is not scored, but keeps the cells it has, so its passthrough (an id, usually the
// first column) still says which row of the user's file failed.
function setRow(out: ParsedChunk, i: number, cells: string[], fieldCount: number): void {
  out.rows[i] = cells;
  if (cells.length !== fieldCount) out.errors[i] = `expected ${fieldCount} fields, got ${cells.length}`;
}

function emptyResult(n: number): ParsedChunk {
  return { rows: new Array<string[] | null>(n).fill(null), errors: new Array<string | null>(n).fill(null) };
}

function isCleanText(buf: Buffer): boolean {
  return buf.indexOf(0) === -1 && isUtf8(buf);
}

function hasCrAtLineEnd(buf: Buffer): boolean {
  for (let i = buf.indexOf(CR); i !== -1; i = buf.indexOf(CR, i + 1)) {
    if (i + 1 === buf.length || buf[i + 1] === LF) return true;
  }
  return false;
}

/** Throws on a delimiter Sluice's CSV dialect cannot use (one character, not a quote or line break). */
export function assertDelimiter(d: string): void {
  if (d.length !== 1 || d === '"' || d === '\n' || d === '\r') throw new TypeError(`unsupported CSV delimiter ${JSON.stringify(d)}`);
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
