import type pg from 'pg';
import { decodeResultRows, type StoredChunk } from '../inference/result-rows.js';
import type { PredictionRow } from './results.js';

// A job's results in row order, read a few chunks per query by keyset on the primary key
// (job_id, first_row): no transaction or cursor is held open while a slow client downloads
// millions of rows, and memory holds a few chunks. Rows of chunks not finished yet are not there:
// while a job runs, the read gives what is done so far.
const CHUNKS_PER_QUERY = 4;
// The chunk holding row $2 (the last chunk starting at or before it), or the first after it.
const FIRST = `
SELECT first_row, row_count, rows, error FROM prediction_chunks
 WHERE job_id = $1 AND first_row >= coalesce((SELECT max(first_row) FROM prediction_chunks WHERE job_id = $1 AND first_row <= $2), 0)
 ORDER BY first_row LIMIT 1`;
const NEXT = `SELECT first_row, row_count, rows, error FROM prediction_chunks WHERE job_id = $1 AND first_row > $2 ORDER BY first_row LIMIT $3`;

/**
 * The job's results after row `after`, a chunk's worth at a time; at most `limit` rows are decoded.
 * The first query reads one chunk (a page often lies within it), the next ones a few at a time.
 */
export async function* resultRows(pool: pg.Pool, jobId: string, after = 0, limit = Infinity): AsyncGenerator<PredictionRow[]> {
  let left = limit;
  let chunks = (await pool.query<StoredChunk>({ name: 'sluice_results_first', text: FIRST, values: [jobId, after + 1] })).rows;
  let asked = 1;
  while (chunks.length) {
    for (const chunk of chunks) {
      const rows = decodeResultRows(chunk, { after, limit: left });
      left -= rows.length;
      if (rows.length) yield rows;
      if (left <= 0) return;
    }
    if (chunks.length < asked) return; // that was the last of them
    chunks = (await pool.query<StoredChunk>({ name: 'sluice_results_next', text: NEXT, values: [jobId, chunks.at(-1)!.first_row, (asked = CHUNKS_PER_QUERY)] })).rows;
  }
}
