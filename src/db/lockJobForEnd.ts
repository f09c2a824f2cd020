import type pg from 'pg';
import type { JobStatus } from './jobRow.js';

/**
 * Locks a job for a transaction that ends it from outside the chunk path (cancel, an aborted
 * upload, the watchdog). The lock order is the one finishChunk takes: the job's chunk rows first,
 * then the job row. Taking the job first would deadlock against a worker that holds a chunk and
 * waits for the job to bump its counters. Returns null when the job does not exist (for the tenant).
 */
export async function lockJobForEnd(
  c: pg.ClientBase,
  jobId: string,
  tenantId?: string,
): Promise<{ status: JobStatus; upload_complete: boolean; idle_ms: number } | null> {
  const scope = tenantId ? 'AND tenant_id = $2' : '';
  const args = tenantId ? [jobId, tenantId] : [jobId];
  await c.query(`SELECT 1 FROM job_chunks WHERE job_id = $1 AND EXISTS (SELECT 1 FROM jobs WHERE id = $1 ${scope}) ORDER BY seq FOR UPDATE`, args);
  const { rows } = await c.query(`SELECT status, upload_complete, (extract(epoch FROM now() - progressed_at) * 1000)::float8 AS idle_ms FROM jobs WHERE id = $1 ${scope} FOR UPDATE`, args);
  return rows[0] ?? null;
}
