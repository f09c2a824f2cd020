import type pg from 'pg';

/** Removes a job that never held a row (a header-only upload): there is nothing to keep of it. */
export async function deleteJob(db: pg.Pool | pg.ClientBase, jobId: string): Promise<void> {
  await db.query('DELETE FROM jobs WHERE id = $1', [jobId]);
}
