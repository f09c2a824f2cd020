import type pg from 'pg';

/** Pending chunks of unfinished jobs: what Redis should be carrying. Oldest jobs first. */
const SQL = `
SELECT c.job_id, c.seq, j.kind FROM job_chunks c JOIN jobs j ON j.id = c.job_id
 WHERE c.status = 'pending' AND j.status IN ('receiving', 'queued', 'running') AND c.payload IS NOT NULL
 ORDER BY j.created_at, c.seq LIMIT $1`;

export async function pendingChunks(pool: pg.Pool, limit: number): Promise<{ jobId: string; seq: number; kind: 'batch' | 'online' }[]> {
  const { rows } = await pool.query(SQL, [limit]);
  return rows.map((r) => ({ jobId: r.job_id, seq: r.seq, kind: r.kind }));
}
