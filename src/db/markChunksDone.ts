import type pg from 'pg';
import { UNFINISHED_SQL } from './jobRow.js';

// Marks chunks done (payload cleared), but only pending chunks of unfinished jobs. This takes each
// chunk's row lock first: a redelivered chunk waits here, then finds it done and changes nothing.
const MARK = `
UPDATE job_chunks c SET status = 'done', payload = NULL, done_at = now()
  FROM jobs j, unnest($1::uuid[], $2::int[]) AS r(job_id, seq)
 WHERE c.job_id = r.job_id AND c.seq = r.seq AND c.status = 'pending' AND j.id = c.job_id
   AND j.status IN ${UNFINISHED_SQL}
RETURNING c.job_id, c.seq`;

/** The chunks this call marked, as `${jobId}_${seq}` (chunkJobId). */
export async function markChunksDone(client: pg.ClientBase, refs: { jobId: string; seq: number }[]): Promise<Set<string>> {
  const { rows } = await client.query<{ job_id: string; seq: number }>({ name: 'sluice_mark_chunks', text: MARK, values: [refs.map((r) => r.jobId), refs.map((r) => r.seq)] });
  return new Set(rows.map((r) => `${r.job_id}_${r.seq}`));
}
