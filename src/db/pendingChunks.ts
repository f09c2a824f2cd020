import type pg from 'pg';
import { UNFINISHED_SQL } from './jobRow.js';

export interface PendingChunk {
  jobId: string;
  seq: number;
  kind: 'batch' | 'online';
}

/**
 * Pending chunks of unfinished jobs, what Redis should be carrying, a page at a time after
 * `after` (keyset on job id and seq, so every pending chunk is reached however many there are).
 */
const SQL = `
SELECT c.job_id, c.seq, j.kind FROM job_chunks c JOIN jobs j ON j.id = c.job_id
 WHERE c.status = 'pending' AND j.status IN ${UNFINISHED_SQL} AND c.payload IS NOT NULL
   AND (c.job_id, c.seq) > ($1::uuid, $2::int)
 ORDER BY c.job_id, c.seq LIMIT $3`;

export async function pendingChunks(pool: pg.Pool, after: { jobId: string; seq: number } | null, limit: number): Promise<PendingChunk[]> {
  const { rows } = await pool.query(SQL, [after?.jobId ?? '00000000-0000-0000-0000-000000000000', after?.seq ?? -1, limit]);
  return rows.map((r) => ({ jobId: r.job_id, seq: r.seq, kind: r.kind }));
}
