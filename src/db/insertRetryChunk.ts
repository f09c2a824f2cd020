import type pg from 'pg';

/**
 * Stores one chunk of a retry job (POST /v1/jobs/{id}/retry) with the original row number of each
 * of its rows (migrations/0016), and counts it on the job, in one statement: a retry chunk never
 * exists without its row numbers. As insertChunk, the job must still be receiving (false if not).
 */
const SQL = `
WITH j AS (
  UPDATE jobs SET chunks_total = chunks_total + 1, rows_total = rows_total + $4, progressed_at = now()
   WHERE id = $1 AND status = 'receiving' RETURNING id),
c AS (
  INSERT INTO job_chunks (job_id, seq, first_row, row_count, format, payload)
  SELECT j.id, $2, $3, $4, $5, $6 FROM j
  RETURNING job_id, first_row)
INSERT INTO retry_row_numbers (job_id, first_row, source_rows, first_source)
SELECT c.job_id, c.first_row, $7::bigint[], ($7::bigint[])[1] FROM c
RETURNING job_id`;

export async function insertRetryChunk(
  db: pg.ClientBase | pg.Pool,
  c: { jobId: string; seq: number; firstRow: number; format: 'csv' | 'json'; payload: Buffer; sourceRows: readonly number[] },
): Promise<boolean> {
  const r = await db.query(SQL, [c.jobId, c.seq, c.firstRow, c.sourceRows.length, c.format, c.payload, c.sourceRows]);
  return r.rowCount === 1;
}
