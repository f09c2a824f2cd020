import type pg from 'pg';
import type { JobStatus } from '../jobs/view.js';
import { chunkJobId, type ChunkRef } from '../queue/payloads.js';

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
 * What a worker needs to score chunks, with their jobs marked started and each chunk's start
 * counted, in one round trip however many chunks (the small jobs of an enqueue group come
 * together). Starts are counted in Postgres, where they survive worker crashes and Redis loss, so
 * a chunk that kills its worker every time (OOM, native crash) is given up on after a bound.
 * A chunk that is gone (its job was deleted or its upload aborted) has no entry. The payload is
 * read as base64 text: bytea's own text format is hex, twice the bytes on the wire and slower
 * to decode (node-postgres reads every column as text).
 */
const SQL = `
WITH refs AS (SELECT * FROM unnest($1::uuid[], $2::int[]) AS r(job_id, seq)),
counted AS (
  UPDATE job_chunks c SET attempts = c.attempts + 1 FROM refs r
   WHERE c.job_id = r.job_id AND c.seq = r.seq AND c.status = 'pending' RETURNING c.job_id, c.seq, c.attempts),
-- Reads counted, so the chunk rows are locked before the job rows: the order every other writer
-- (finishing chunks, cancel, watchdog) takes.
started AS (
  UPDATE jobs SET started_at = coalesce(started_at, now()),
                  status = CASE WHEN status = 'queued' THEN 'running' ELSE status END
   WHERE id IN (SELECT job_id FROM counted) AND (started_at IS NULL OR status = 'queued') RETURNING id)
SELECT k.attempts AS starts, c.job_id, c.seq, c.status, j.status AS job_status, c.format, encode(c.payload, 'base64') AS payload, c.first_row, c.row_count,
       j.columns, j.delimiter, j.model_version_id
  FROM refs r JOIN job_chunks c ON c.job_id = r.job_id AND c.seq = r.seq JOIN jobs j ON j.id = c.job_id
  LEFT JOIN counted k ON k.job_id = c.job_id AND k.seq = c.seq`;

export async function loadChunks(db: pg.Pool, refs: ChunkRef[]): Promise<Map<string, LoadedChunk>> {
  const { rows } = await db.query({ name: 'sluice_load_chunks', text: SQL, values: [refs.map((r) => r.jobId), refs.map((r) => r.seq)] });
  return new Map(
    rows.map((r) => [
      chunkJobId({ jobId: r.job_id, seq: r.seq }),
      {
        status: r.status, jobStatus: r.job_status, format: r.format, payload: r.payload === null ? null : Buffer.from(r.payload, 'base64'), firstRow: Number(r.first_row),
        rowCount: r.row_count, columns: r.columns, delimiter: r.delimiter, modelVersionId: Number(r.model_version_id),
        starts: r.starts ?? 0,
      },
    ]),
  );
}
