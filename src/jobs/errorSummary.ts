import type pg from 'pg';
import type { JobRow } from '../db/jobRow.js';
import { selectJobErrors } from '../db/selectJobErrors.js';

/**
 * Attaches each job's error summary (its most frequent kinds of row error) for a view that shows
 * it: a job with no failed row has none, without a query.
 */
export async function attachErrors(db: pg.Pool | pg.ClientBase, jobs: JobRow[]): Promise<void> {
  const failing = jobs.filter((j) => j.rows_failed > 0);
  const errors = failing.length ? await selectJobErrors(db, failing.map((j) => j.id)) : new Map();
  for (const j of jobs) j.errors = errors.get(j.id) ?? [];
}
