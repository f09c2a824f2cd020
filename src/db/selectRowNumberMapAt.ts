import type pg from 'pg';
import type { RowNumberMap } from './selectRowNumberMaps.js';

// Where a page cursor given in original row numbers falls in a retry job (migrations/0016): the
// map of the last chunk whose first original row is at or before it, found by the index on
// (job_id, first_source) without reading the other chunks' arrays.
const SQL = `
SELECT first_row, source_rows FROM retry_row_numbers
 WHERE job_id = $1 AND first_source <= $2
 ORDER BY first_source DESC LIMIT 1`;

/** Null when every row of the job comes after original row `sourceRow`. */
export async function selectRowNumberMapAt(db: pg.Pool | pg.ClientBase, jobId: string, sourceRow: number): Promise<RowNumberMap | null> {
  const { rows } = await db.query<{ first_row: number; source_rows: (string | number)[] }>({ name: 'sluice_row_number_map_at', text: SQL, values: [jobId, sourceRow] });
  const r = rows[0];
  return r ? { first_row: Number(r.first_row), source_rows: r.source_rows.map(Number) } : null;
}
