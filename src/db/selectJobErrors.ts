import type pg from 'pg';

export interface JobErrorSummary {
  code: string;
  message: string;
  count: number;
  first_rows: number[];
}

/**
 * The most frequent kinds of row error of each job, most frequent first (at most `limit` a job).
 * A retry job's first rows are shown as the original's row numbers (migrations/0016), as its
 * results are; an ordinary job has no row numbers map and keeps its own.
 */
export async function selectJobErrors(db: pg.Pool | pg.ClientBase, jobIds: string[], limit = 10): Promise<Map<string, JobErrorSummary[]>> {
  const out = new Map<string, JobErrorSummary[]>(jobIds.map((id) => [id, []]));
  if (!jobIds.length) return out;
  const { rows } = await db.query<JobErrorSummary & { job_id: string }>(
    `SELECT job_id, code, message, count,
            ARRAY(SELECT coalesce((SELECT m.source_rows[f.row - m.first_row + 1] FROM retry_row_numbers m
                                    WHERE m.job_id = r.job_id AND m.first_row <= f.row ORDER BY m.first_row DESC LIMIT 1), f.row)
                    FROM unnest(r.first_rows) WITH ORDINALITY AS f(row, i) ORDER BY f.i) AS first_rows
       FROM (SELECT e.*, row_number() OVER (PARTITION BY job_id ORDER BY count DESC, code, message) AS n
               FROM job_errors e WHERE job_id = ANY($1::uuid[])) r
      WHERE n <= $2 ORDER BY job_id, n`,
    [jobIds, limit],
  );
  for (const { job_id, ...e } of rows) out.get(job_id)!.push({ ...e, first_rows: e.first_rows.map(Number) });
  return out;
}
