import type pg from 'pg';
import type { StoredChunk } from '../results/resultRows.js';

// A job's stored results (prediction_chunks) read by keyset on the primary key (job_id, first_row),
// a few chunks per query (src/results/readResultChunks.ts): no transaction or cursor stays open
// while a slow client downloads.

// The chunk holding row $2 (the last chunk starting at or before it), or the first after it.
const FIRST = `
SELECT first_row, row_count, rows, error FROM prediction_chunks
 WHERE job_id = $1 AND first_row >= coalesce((SELECT max(first_row) FROM prediction_chunks WHERE job_id = $1 AND first_row <= $2), 0)
 ORDER BY first_row LIMIT 1`;
const NEXT = `SELECT first_row, row_count, rows, error FROM prediction_chunks WHERE job_id = $1 AND first_row > $2 ORDER BY first_row LIMIT $3`;

/**
 * `{ holdingRow }`: the one chunk holding that row, or the first after it (where a read starts).
 * `{ afterFirstRow, limit }`: the next `limit` chunks after the chunk starting at that row.
 */
export async function selectResultChunks(db: pg.Pool | pg.ClientBase, jobId: string, from: { holdingRow: number } | { afterFirstRow: number; limit: number }): Promise<StoredChunk[]> {
  const query =
    'holdingRow' in from
      ? { name: 'sluice_results_first', text: FIRST, values: [jobId, from.holdingRow] }
      : { name: 'sluice_results_next', text: NEXT, values: [jobId, from.afterFirstRow, from.limit] };
  return (await db.query<StoredChunk>(query)).rows;
}
