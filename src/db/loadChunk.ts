import type pg from 'pg';
import type { JobStatus } from './jobRow.js';
import { chunkJobId, type ChunkRef } from '../queue/chunkJobs.js';
import { copyOutRows, isUuid } from './copyOut.js';

export interface LoadedChunk {
  status: 'pending' | 'done';
  jobStatus: JobStatus;
  format: 'csv' | 'json';
  payload: Buffer | null;
  firstRow: number;
  rowCount: number;
  columns: string[];
  delimiter: string;
  decimal: '.' | ',';
  /** Who and what the chunk is for, for the worker's log lines about it. */
  tenantId: string;
  modelName: string;
  modelVersion: number;
  /** This load moved the job from queued to started (its first chunk taken by any worker). */
  startedJob: boolean;
  /** Where the chunk's rows stand in the uploaded file (null for chunks stored without it). */
  lines: { first: number; jumps: number[] | null } | null;
  modelVersionId: number;
  /** Starts of this chunk so far, this one included (0 when it is not pending). */
  starts: number;
  /** An evaluation job's label column (migrations/0014). */
  labelColumn: string | null;
  /** A compare job's second model version. */
  compareVersionId: number | null;
}

/**
 * What a worker needs to score chunks, with their jobs marked started and each chunk's start
 * counted, in one round trip however many chunks (the small jobs of an enqueue group come
 * together). Starts are counted in Postgres, where they survive worker crashes and Redis loss, so
 * a chunk that kills its worker every time (OOM, native crash) is given up on after a bound.
 * A chunk that is gone (its job was deleted or its upload aborted) has no entry. The statement runs
 * as a binary COPY (copyOut.ts: payloads arrive as their own bytes); every other column is cast to
 * text, so each field is UTF-8 to read.
 */
const sql = (jobIds: string, seqs: string) => `
WITH refs AS (SELECT * FROM unnest('${jobIds}'::uuid[], '${seqs}'::int[]) AS r(job_id, seq)),
counted AS (
  UPDATE job_chunks c SET attempts = c.attempts + 1 FROM refs r
   WHERE c.job_id = r.job_id AND c.seq = r.seq AND c.status = 'pending' RETURNING c.job_id, c.seq, c.attempts),
-- Reads counted, so the chunk rows are locked before the job rows: the order every other writer
-- (finishing chunks, cancel, watchdog) takes.
started AS (
  UPDATE jobs SET started_at = coalesce(started_at, now()),
                  status = CASE WHEN status = 'queued' THEN 'running' ELSE status END
   WHERE id IN (SELECT job_id FROM counted) AND (started_at IS NULL OR status = 'queued') RETURNING id)
SELECT c.job_id::text, c.seq::text, coalesce(k.attempts, 0)::text, c.status::text, j.status::text, c.format::text, c.payload,
       c.first_row::text, c.row_count::text, to_json(j.columns)::text, j.delimiter::text, j.model_version_id::text, j.decimal::text,
       j.tenant_id::text, m.name, mv.version::text, (s.id IS NOT NULL AND j.started_at IS NULL)::text,
       c.first_line::text, to_json(c.line_jumps)::text, j.label_column, j.compare_model_version_id::text
  FROM refs r JOIN job_chunks c ON c.job_id = r.job_id AND c.seq = r.seq JOIN jobs j ON j.id = c.job_id
  JOIN model_versions mv ON mv.id = j.model_version_id JOIN models m ON m.id = mv.model_id
  LEFT JOIN counted k ON k.job_id = c.job_id AND k.seq = c.seq
  LEFT JOIN (SELECT DISTINCT id FROM started) s ON s.id = j.id`;

export async function loadChunks(db: pg.Pool, refs: ChunkRef[]): Promise<Map<string, LoadedChunk>> {
  // COPY takes no parameters: the references go in as literals, so each is checked to be exactly a
  // UUID and an int4 here (the queue payload's schema checked them already; this is the last gate).
  for (const r of refs) {
    if (!isUuid(r.jobId) || !Number.isInteger(r.seq) || r.seq < 0 || r.seq > 2 ** 31 - 1) throw new TypeError(`malformed chunk reference ${JSON.stringify(r)}`);
  }
  const client = await db.connect();
  let rows: (Buffer | null)[][];
  try {
    rows = await copyOutRows(client, sql(`{${refs.map((r) => r.jobId).join(',')}}`, `{${refs.map((r) => r.seq).join(',')}}`));
  } finally {
    client.release();
  }
  // Each payload gets memory of its own (as a view of the COPY output it would take the whole
  // group's bytes along), shared for a CSV chunk: handed to an inference thread it is passed by
  // reference, not copied (a 750 kB clone cost ~300 µs of main-thread CPU). Threads only read it.
  // JSON payloads are parsed here, on the main thread.
  return new Map(
    rows.map((f) => {
      const text = (i: number) => f[i]!.toString('utf8');
      return [
        chunkJobId({ jobId: text(0), seq: Number(text(1)) }),
        {
          starts: Number(text(2)), status: text(3) as LoadedChunk['status'], jobStatus: text(4) as JobStatus, format: text(5) as LoadedChunk['format'],
          payload: f[6] && (text(5) === 'csv' ? shared(f[6]) : Buffer.from(f[6])), firstRow: Number(text(7)), rowCount: Number(text(8)), columns: JSON.parse(text(9)), delimiter: text(10), modelVersionId: Number(text(11)), decimal: text(12) as LoadedChunk['decimal'],
          tenantId: text(13), modelName: text(14), modelVersion: Number(text(15)), startedJob: text(16) === 'true',
          lines: f[17] ? { first: Number(text(17)), jumps: f[18] ? JSON.parse(text(18)) : null } : null,
          labelColumn: f[19] ? text(19) : null, compareVersionId: f[20] ? Number(text(20)) : null,
        },
      ];
    }),
  );
}

function shared(bytes: Buffer): Buffer {
  const out = Buffer.from(new SharedArrayBuffer(bytes.length));
  bytes.copy(out);
  return out;
}
