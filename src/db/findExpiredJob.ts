import type pg from 'pg';

/** For the api: a job id that retention removed. Tenant-scoped like every read. */
export async function findExpiredJob(db: pg.Pool | pg.ClientBase, jobId: string, tenantId: string): Promise<{ finished_at: Date | null; expired_at: Date } | null> {
  const { rows } = await db.query(`SELECT finished_at, expired_at FROM expired_jobs WHERE id = $1 AND tenant_id = $2`, [jobId, tenantId]);
  return rows[0] ?? null;
}
