// A failed row's record as uploaded, kept with its error (src/results/resultRows.ts) so an
// errors-only download can give it back to be fixed and sent again. Found only for a slice that
// has a failed row: successful rows pay nothing.
import { Buffer } from 'node:buffer';
import { forEachDataLine, isLineByLine } from './parse.js';
import { splitRecords } from './records.js';

/**
 * The `rows` records of a CSV slice (row i → its bytes, line ending excluded), by the same rule
 * the parsers number rows by (line by line, else splitRecords: see slices.ts); null when the
 * records do not add up to `rows` (the rows cannot be matched to their numbers then).
 */
export function rawCsvRecords(bytes: Uint8Array, rows: number): Uint8Array[] | null {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out: Uint8Array[];
  if (isLineByLine(buf)) {
    out = [];
    forEachDataLine(buf, (start, end) => out.push(buf.subarray(start, end)));
  } else out = splitRecords(buf);
  return out.length === rows ? out : null;
}
