// The errors-only download (GET /v1/jobs/{id}/results?only=errors): each failed row with its input
// as uploaded, so it can be fixed and sent again.
//
// CSV: a file in the upload's own dialect (its delimiter), with the upload's header after two
// leading columns, `row` and `error`:
//     row,error,id,bill_length,bill_depth
//     7,"column ""bill_length"": ""abc"" is not a number",p-7,abc,18.1
// It can be resubmitted as is (with the upload's delimiter/decimal options): Sluice ignores
// columns a signature does not name. The record's cells are those it was uploaded with, written
// with the CSV rules of every download (a formula-like cell neutralised unless ?raw=true; with
// raw, a CSV record comes back as uploaded, invalid UTF-8 aside). A record that does not read as CSV (stray quote,
// bad UTF-8) comes back whole in the first column after `error`. An online job's records (JSON)
// are written as CSV cells under its columns. A row with no record stored (rows scored before
// records were kept, one larger than RECORD_MAX_BYTES) has its row and error only.
// A retry job (POST /v1/jobs/{id}/retry) holds its original's records as they were, under the
// original's columns and delimiter: its failed rows read as the original's do (a retry of an
// online job holds JSON records, though it is a batch job: hence `record_format`, not the kind).
// NDJSON/JSON: the usual row object plus `input`: a CSV record's text, or the JSON record itself.
import { Buffer } from 'node:buffer';
import { parseRecord } from '../csv/parse.js';
import { csvLine } from './formatResults.js';
import type { PredictionRow } from './predictionRow.js';

/** How a job's rows were uploaded (src/db/selectJobChain.ts). */
export interface UploadShape {
  /** The upload's header, trimmed (CSV); the signature's columns and passthrough (JSON records). */
  columns: string[];
  delimiter: string;
  /** CSV records' bytes, or JSON records' text. */
  record_format: 'csv' | 'json';
}

/** How failed rows are given back, from how the job's rows were uploaded. */
export class ErrorRows {
  private readonly delimiter: string;
  private readonly csv: boolean;

  constructor(private readonly upload: UploadShape, private readonly raw: boolean) {
    this.csv = upload.record_format === 'csv';
    this.delimiter = this.csv ? upload.delimiter : ',';
  }

  /** The header: `row`, `error` (named `sluice_row`, `sluice_error` if the upload has such columns), then the upload's columns. */
  csvHeader(): string {
    const taken = new Set(this.upload.columns.map((c) => c.normalize('NFC').toLowerCase()));
    const lead = ['row', 'error'].map((c) => (taken.has(c) ? `sluice_${c}` : c));
    return csvLine([...lead, ...this.upload.columns], { delimiter: this.delimiter, raw: this.raw });
  }

  csvRow(r: PredictionRow): string {
    const lead = [String(r.row_no), r.error ?? ''];
    if (!r.record) return csvLine(lead, { delimiter: this.delimiter, raw: this.raw });
    const opts = { delimiter: this.delimiter, raw: this.raw };
    if (!this.csv) return csvLine([...lead, ...this.jsonCells(r.record)], opts);
    if (this.raw) return csvLine(lead, opts).slice(0, -1) + this.delimiter + asBuffer(r.record).toString('utf8') + '\n';
    const cells = parseRecord(asBuffer(r.record), this.delimiter);
    return csvLine([...lead, ...(typeof cells === 'string' ? [asBuffer(r.record).toString('utf8')] : cells)], opts);
  }

  /** The row's `input` for NDJSON/JSON: the CSV record's text, or the JSON record; null when none is stored. */
  input(r: PredictionRow): unknown {
    if (!r.record) return null;
    const text = asBuffer(r.record).toString('utf8');
    if (this.csv) return text;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  private jsonCells(record: Uint8Array): string[] {
    const rec = this.input({ record } as PredictionRow);
    const own = (k: string) => (rec !== null && typeof rec === 'object' && Object.hasOwn(rec, k) ? (rec as Record<string, unknown>)[k] : null);
    return this.upload.columns.map((c) => {
      const v = own(c);
      return v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
    });
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
