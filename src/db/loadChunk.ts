import type pg from 'pg';
import type { JobStatus } from '../jobs/view.js';
import type { ChunkRef } from '../queue/payloads.js';

export interface LoadedChunk {
  status: 'pending' | 'done';
  jobStatus: JobStatus;
  format: 'csv' | 'json';
  payload: Buffer | null;
  firstRow: number;
  rowCount: number;
  columns: string[];
  delimiter: string;
  modelVersionId: number;
  /** Starts of this chunk so far, this one included (0 when it is not pending). */
  starts: number;
}

/**
 * What a worker needs to score one chunk, with the job marked started and the start counted, in
 * one round trip. Starts are counted in Postgres, where they survive worker crashes and Redis
 * loss, so a chunk that kills its worker every time (OOM, native crash) is given up on after a
 * bound. Returns null when the chunk is gone (its job was deleted or its upload aborted).
 */
const SQL = `
WITH counted AS (
  UPDATE job_chunks SET attempts = attempts + 1
   WHERE job_id = $1 AND seq = $2 AND status = 'pending' RETURNING attempts),
-- Depends on counted, so the chunk row is locked before the job row: the order every other
-- writer (finishing chunks, cancel, watchdog) takes.
started AS (
  UPDATE jobs SET started_at = coalesce(started_at, now()),
                  status = CASE WHEN status = 'queued' THEN 'running' ELSE status END
   WHERE id = $1 AND (started_at IS NULL OR status = 'queued') AND EXISTS (SELECT 1 FROM counted) RETURNING id)
SELECT (SELECT attempts FROM counted) AS starts, c.status, j.status AS job_status, c.format, c.payload, c.first_row, c.row_count, j.columns, j.delimiter, j.model_version_id
  FROM job_chunks c JOIN jobs j ON j.id = c.job_id
 WHERE c.job_id = $1 AND c.seq = $2`;

export async function loadChunk(db: pg.Pool, ref: ChunkRef): Promise<LoadedChunk | null> {
  const { rows } = await db.query(SQL, [ref.jobId, ref.seq]);
  const r = rows[0];
  if (!r) return null;
  return {
    status: r.status, jobStatus: r.job_status, format: r.format, payload: r.payload, firstRow: Number(r.first_row),
    rowCount: r.row_count, columns: r.columns, delimiter: r.delimiter, modelVersionId: Number(r.model_version_id),
    starts: r.starts ?? 0,
  };
}
