import { parse } from 'csv-parse/sync';
import { csvParseOptions, explainCsvError } from './parse.js';
import { CsvLimitError } from './records.js';

const utf8 = new TextDecoder('utf-8', { fatal: true }); // also drops a leading BOM

/**
 * The column names of a header record (as RecordSplitter/Chunker return it), trimmed. Empty or
 * repeated names are returned as they are: whether they matter depends on the model's signature.
 * Throws CsvLimitError with code 'invalid_csv' (the same error type the Chunker throws, so the
 * caller maps both to a 422).
 */
export function parseHeader(record: Uint8Array, delimiter: string): string[] {
  if (record.indexOf(0) !== -1) throw invalid(`The upload is not CSV text: it contains NUL bytes${binaryHint(record)}.`);
  let text: string;
  try {
    text = utf8.decode(record);
  } catch {
    throw invalid(`The header is not valid UTF-8${binaryHint(record)}; save the file as UTF-8 CSV.`);
  }
  let records: string[][];
  try {
    // trim: true also accepts `a, "b c"` (spaces outside quotes), which only a header can afford.
    records = parse(text, { ...csvParseOptions(delimiter), bom: true, trim: true });
  } catch (err) {
    throw invalid(`The header is not valid CSV: ${explainCsvError(err)}.`);
  }
  if (records.length === 0) throw invalid('The header record is empty.');
  if (records.length > 1) throw invalid('The header must be a single record; it reads as several.');
  return records[0].map((name) => name.trim());
}

function binaryHint(b: Uint8Array): string {
  if (b[0] === 0x50 && b[1] === 0x4b) return ' (it looks like a ZIP or Excel file; export it as CSV)';
  if (b[0] === 0x1f && b[1] === 0x8b) return ' (it looks gzip-compressed; send it uncompressed)';
  return '';
}

function invalid(message: string): CsvLimitError {
  return new CsvLimitError('invalid_csv', message, 1, 1);
}
