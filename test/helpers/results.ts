import type pg from 'pg';
import { decodeResultRows, type StoredChunk } from '../../src/results/resultRows.js';

/** Every stored result row of the jobs, decoded, in job and row order (results are stored a chunk per table row). */
export async function storedRows(pool: pg.Pool, jobIds: string | string[]) {
  const { rows } = await pool.query<StoredChunk & { job_id: string }>(
    'SELECT job_id, first_row, row_count, rows, error FROM prediction_chunks WHERE job_id = ANY($1) ORDER BY job_id, first_row',
    [Array.isArray(jobIds) ? jobIds : [jobIds]],
  );
  return rows.flatMap((c) => decodeResultRows(c).map((r) => ({ job_id: c.job_id, ...r })));
}
