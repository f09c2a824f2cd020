import type pg from 'pg';

export interface JobErrorCount {
  jobId: string;
  code: string;
  message: string;
  count: number;
  /** The first rows (1-based row numbers) with the error, ascending, at most FIRST_ROWS. */
  firstRows: number[];
}

export const FIRST_ROWS = 5;

// Adds chunks' error counts to their jobs' summaries, in the finishing transaction (after the job
// rows are locked: the lock order is chunks, jobs, then these rows). Counts add up; the first rows
// kept are the smallest seen, whatever order the chunks finish in. One statement for a commit.
const SQL = `
INSERT INTO job_errors AS e (job_id, code, message, count, first_rows)
SELECT x.job_id, x.code, x.message, x.count, ARRAY(SELECT jsonb_array_elements_text(x.first_rows)::bigint)
  FROM jsonb_to_recordset($1::jsonb) AS x(job_id uuid, code text, message text, count bigint, first_rows jsonb)
ON CONFLICT (job_id, code, message) DO UPDATE
   SET count = e.count + excluded.count,
       first_rows = ARRAY(SELECT DISTINCT r FROM unnest(e.first_rows || excluded.first_rows) r ORDER BY r LIMIT ${FIRST_ROWS})`;

export async function addJobErrors(client: pg.ClientBase, counts: JobErrorCount[]): Promise<void> {
  // One entry per (job, code, message): a statement may not touch a row twice.
  const merged = new Map<string, JobErrorCount>();
  for (const c of counts) {
    const k = JSON.stringify([c.jobId, c.code, c.message]);
    const m = merged.get(k);
    if (!m) merged.set(k, { ...c, firstRows: c.firstRows.slice(0, FIRST_ROWS) });
    else (m.count += c.count), (m.firstRows = [...new Set([...m.firstRows, ...c.firstRows])].sort((a, b) => a - b).slice(0, FIRST_ROWS));
  }
  if (!merged.size) return;
  const input = [...merged.values()].map((c) => ({ job_id: c.jobId, code: c.code, message: c.message, count: c.count, first_rows: c.firstRows }));
  await client.query({ name: 'sluice_add_job_errors', text: SQL, values: [JSON.stringify(input)] });
}
