// A large CSV part cut into slices of rows, so an inference thread parses, scores and lets go of
// about one batch at a time instead of holding the whole chunk's cells.
import { Buffer } from 'node:buffer';
import { forEachDataLine, isLineByLine } from './parse.js';
import { splitRecords } from './records.js';

export interface Slice {
  bytes: Uint8Array;
  rows: number;
}

/**
 * Slices of `rowsPer` rows each, or null when the part is best parsed whole (no more rows than
 * one slice, or records that do not add up to the stored row count: the whole part reports that).
 * Each slice parses to exactly the rows the whole part would give, in order:
 *  - read line by line (parse.ts's isLineByLine): every data line is a row, for the whole part and
 *    each slice alike (forEachDataLine is the one rule), so cut after newlines;
 *  - otherwise cut between the records splitRecords finds: parseChunk's answer for any payload is,
 *    record by record, its reference path's (parseChunkByRecord), which reads each record alone.
 */
export function csvSlices(payload: Uint8Array, rowCount: number, rowsPer: number): Slice[] | null {
  if (rowCount <= rowsPer) return null;
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return isLineByLine(buf) ? lineSlices(buf, rowCount, rowsPer) : recordSlices(buf, rowCount, rowsPer);
}

function lineSlices(buf: Buffer, rowCount: number, rowsPer: number): Slice[] | null {
  const slices: Slice[] = [];
  let start = 0;
  let rows = 0;
  let total = 0;
  forEachDataLine(buf, (_start, _end, next) => {
    rows++;
    total++;
    if (rows === rowsPer) {
      slices.push({ bytes: buf.subarray(start, next), rows });
      start = next;
      rows = 0;
    }
  });
  if (rows > 0) slices.push({ bytes: buf.subarray(start), rows });
  return total === rowCount ? slices : null;
}

function recordSlices(buf: Buffer, rowCount: number, rowsPer: number): Slice[] | null {
  const records = splitRecords(buf);
  if (records.length !== rowCount) return null;
  const slices: Slice[] = [];
  let start = 0;
  for (let a = 0; a < records.length; a += rowsPer) {
    const rows = Math.min(rowsPer, records.length - a);
    if (a + rows === records.length) {
      slices.push({ bytes: buf.subarray(start), rows });
      break;
    }
    // Cut right after the slice's last record: its line ending (and any blank lines) open the next
    // slice, where they are blank. Records are views of buf, all but the very last one (which
    // never ends a slice but the last); a copy would leave no place to cut: parse whole then.
    const last = records[a + rows - 1];
    const end = last.byteOffset - buf.byteOffset + last.byteLength;
    if (last.buffer !== buf.buffer || end <= start || end > buf.length) return null;
    slices.push({ bytes: buf.subarray(start, end), rows });
    start = end;
  }
  return slices;
}
