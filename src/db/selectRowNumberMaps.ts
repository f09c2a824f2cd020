import type pg from 'pg';

// A retry job's original row numbers (migrations/0016), read beside its stored results
// (src/results/readResultChunks.ts). One map per chunk of the retry: its rows first_row,
// first_row + 1, … are the original's rows source_rows[0], source_rows[1], …

export interface RowNumberMap {
  first_row: number;
  source_rows: number[];
}

// The map holding row $2 (the last starting at or before it) and every later one starting at or before $3.
const RANGE = `
SELECT first_row, source_rows FROM retry_row_numbers
 WHERE job_id = $1 AND first_row <= $3
   AND first_row >= coalesce((SELECT max(first_row) FROM retry_row_numbers WHERE job_id = $1 AND first_row <= $2), 0)
 ORDER BY first_row`;

/** The maps covering the job's rows `fromRow` to `toRow`, in order. */
export async function selectRowNumberMaps(db: pg.Pool | pg.ClientBase, jobId: string, fromRow: number, toRow: number): Promise<RowNumberMap[]> {
  const { rows } = await db.query<{ first_row: number; source_rows: (string | number)[] }>({ name: 'sluice_row_number_maps', text: RANGE, values: [jobId, fromRow, toRow] });
  // bigint[] reads as strings (db/pool.ts parses only scalar int8).
  return rows.map((r) => ({ first_row: Number(r.first_row), source_rows: r.source_rows.map(Number) }));
}
