import type pg from 'pg';

/**
 * Stores one chunk of an upload and counts it on the job, in one statement. The job must still be
 * receiving: a cancelled or failed upload stores nothing more (0 rows returned).
 */
const SQL = `
WITH j AS (
  UPDATE jobs SET chunks_total = chunks_total + 1, rows_total = rows_total + $4, progressed_at = now()
   WHERE id = $1 AND status = 'receiving' RETURNING id)
INSERT INTO job_chunks (job_id, seq, first_row, row_count, format, payload, first_line, line_jumps)
SELECT j.id, $2, $3, $4, $5, $6, $7, $8 FROM j
RETURNING seq`;

export async function insertChunk(
  db: pg.ClientBase | pg.Pool,
  c: { jobId: string; seq: number; firstRow: number; rowCount: number; format: 'csv' | 'json'; payload: Buffer; lines?: { first: number; jumps: number[] | null } },
): Promise<boolean> {
  const r = await db.query(SQL, [c.jobId, c.seq, c.firstRow, c.rowCount, c.format, c.payload, c.lines?.first ?? null, c.lines?.jumps ?? null]);
  return r.rowCount === 1;
}
