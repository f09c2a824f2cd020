import type pg from 'pg';
import { selectResultChunks } from '../db/selectResultChunks.js';
import type { PredictionRow } from './predictionRow.js';
import { decodeResultRows, type RowFilter } from './resultRows.js';

// A job's results in row order, read a few chunks per query by keyset on the primary key
// (job_id, first_row): no transaction or cursor is held open while a slow client downloads
// millions of rows, and memory holds a few chunks. Rows of chunks not finished yet are not there:
// while a job runs, the read gives what is done so far.
const CHUNKS_PER_QUERY = 4;

/**
 * The job's results after row `after`, a chunk's worth at a time; at most `limit` rows are decoded.
 * The first query reads one chunk (a page often lies within it), the next ones a few at a time.
 * `read.only` keeps failed or scored rows only (`limit` counts those kept); `read.records` also
 * reads failed rows' raw records.
 */
export async function* resultRows(pool: pg.Pool, jobId: string, after = 0, limit = Infinity, read: { only?: RowFilter; records?: boolean } = {}): AsyncGenerator<PredictionRow[]> {
  let left = limit;
  let chunks = await selectResultChunks(pool, jobId, { holdingRow: after + 1 });
  let asked = 1;
  while (chunks.length) {
    for (const chunk of chunks) {
      const rows = decodeResultRows(chunk, { after, limit: left, ...read });
      left -= rows.length;
      if (rows.length) yield rows;
      if (left <= 0) return;
    }
    if (chunks.length < asked) return; // that was the last of them
    chunks = await selectResultChunks(pool, jobId, { afterFirstRow: chunks.at(-1)!.first_row, limit: (asked = CHUNKS_PER_QUERY) });
  }
}
