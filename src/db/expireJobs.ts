import type pg from 'pg';

// Retention. Every statement here is its own short transaction touching at most `batch` rows, so
// deleting a job of millions of rows never holds a long lock or a long transaction: readers and
// writers of other jobs go on, and a crash midway simply resumes at the next pass.

/** Finished jobs past the TTL, oldest first. */
export async function expiredJobs(pool: pg.Pool, ttlHours: number, limit: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM jobs WHERE status IN ('completed', 'failed', 'cancelled')
        AND finished_at < now() - make_interval(secs => $1::double precision * 3600)
      ORDER BY finished_at LIMIT $2`,
    [ttlHours, limit],
  );
  return rows.map((r) => r.id);
}

/**
 * Deletes the job's stored results, chunk by chunk, up to about `batch` result rows (at least one
 * chunk; each chunk holds a row at least, so its first `batch` chunks are all it looks at);
 * returns how many result rows went.
 */
export async function deletePredictionBatch(pool: pg.Pool, jobId: string, batch: number): Promise<number> {
  const r = await pool.query<{ n: number }>(
    `WITH gone AS (
       DELETE FROM prediction_chunks WHERE job_id = $1 AND first_row IN (
         SELECT first_row FROM (SELECT first_row, sum(row_count) OVER (ORDER BY first_row) - row_count AS before
                                  FROM (SELECT first_row, row_count FROM prediction_chunks WHERE job_id = $1 ORDER BY first_row LIMIT $2) f) c
          WHERE before < $2)
       RETURNING row_count)
     SELECT coalesce(sum(row_count), 0)::int AS n FROM gone`,
    [jobId, batch],
  );
  return r.rows[0].n;
}

/** Deletes up to `batch` chunk rows of the job. */
export async function deleteChunkBatch(pool: pg.Pool, jobId: string, batch: number): Promise<number> {
  const r = await pool.query(
    `DELETE FROM job_chunks WHERE job_id = $1 AND seq IN (SELECT seq FROM job_chunks WHERE job_id = $1 ORDER BY seq LIMIT $2)`,
    [jobId, batch],
  );
  return r.rowCount ?? 0;
}

/**
 * Replaces the (now empty) job by a tombstone, so its id answers 410 rather than 404. Deliveries and
 * their attempts go with the job (ON DELETE CASCADE; a job has a handful). Only a finished job.
 */
export async function replaceJobByTombstone(pool: pg.Pool, jobId: string): Promise<boolean> {
  const r = await pool.query(
    `WITH gone AS (DELETE FROM jobs WHERE id = $1 AND status IN ('completed', 'failed', 'cancelled') RETURNING id, tenant_id, status, finished_at)
     INSERT INTO expired_jobs (id, tenant_id, status, finished_at) SELECT id, tenant_id, status, finished_at FROM gone
     ON CONFLICT (id) DO NOTHING`,
    [jobId],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Tombstones are kept for one more TTL, then go too (in batches). */
export async function deleteOldTombstones(pool: pg.Pool, ttlHours: number, batch: number): Promise<number> {
  const r = await pool.query(
    `DELETE FROM expired_jobs WHERE id IN (
       SELECT id FROM expired_jobs WHERE expired_at < now() - make_interval(secs => $1::double precision * 3600) ORDER BY expired_at LIMIT $2)`,
    [ttlHours, batch],
  );
  return r.rowCount ?? 0;
}

/** For the api: a job id that retention removed. Tenant-scoped like every read. */
export async function findExpiredJob(db: pg.Pool | pg.ClientBase, jobId: string, tenantId: string): Promise<{ finished_at: Date | null; expired_at: Date } | null> {
  const { rows } = await db.query(`SELECT finished_at, expired_at FROM expired_jobs WHERE id = $1 AND tenant_id = $2`, [jobId, tenantId]);
  return rows[0] ?? null;
}
