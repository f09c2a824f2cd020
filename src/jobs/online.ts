import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ResolvedVersion } from '../models/resolve.js';
import { JOB_FROM_SQL, JOB_ROW_SQL, type JobRow } from '../db/jobRow.js';
import { decodeResultRows } from '../inference/result-rows.js';
import type { PredictionRow } from './results.js';

/**
 * A small job from POST /v1/predictions: the job, its one chunk (the records as JSON) and its
 * counters in one statement, so it is durable before anyone is told it exists.
 */
const SQL = `
WITH j AS (
  INSERT INTO jobs (tenant_id, model_version_id, kind, status, columns, upload_complete, rows_total, chunks_total, idempotency_key, callback_url)
  VALUES ($1, $2, 'online', 'queued', $3, true, $4, 1, $6, $7)
  ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
  RETURNING id)
INSERT INTO job_chunks (job_id, seq, first_row, row_count, format, payload)
SELECT j.id, 0, 1, $4, 'json', $5 FROM j
RETURNING job_id`;

export interface OnlineSubmission {
  tenantId: string;
  version: ResolvedVersion;
  records: unknown[];
  idempotencyKey: string | null;
  callbackUrl: string | null;
}

const columnsOf = (v: ResolvedVersion) => [...v.signature.columns, ...v.signature.passthrough];

export async function createOnlineJob(db: pg.Pool | pg.ClientBase, o: OnlineSubmission): Promise<string | null> {
  const { rows } = await db.query<{ job_id: string }>(SQL, [
    o.tenantId, o.version.id, columnsOf(o.version), o.records.length, Buffer.from(JSON.stringify(o.records)), o.idempotencyKey, o.callbackUrl,
  ]);
  return rows[0]?.job_id ?? null;
}

/**
 * Many small jobs (without idempotency keys) in ONE statement, so one commit makes them all
 * durable: the write behind group commit (groupCommit.ts). Ids are chosen here, so the caller can
 * start waiting for a job before any worker could have finished it.
 *
 * $1: jsonb array of {id, tenant_id, model_version_id, columns (text[] as a JSON array), rows, payload (the records' JSON text), callback_url}
 */
const MANY_SQL = `
WITH input AS (
  SELECT x.* FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, tenant_id uuid, model_version_id bigint, columns jsonb, rows integer, payload text, callback_url text)
), j AS (
  INSERT INTO jobs (id, tenant_id, model_version_id, kind, status, columns, upload_complete, rows_total, chunks_total, callback_url)
  SELECT id, tenant_id, model_version_id, 'online', 'queued', ARRAY(SELECT jsonb_array_elements_text(columns)), true, rows, 1, callback_url FROM input
  RETURNING id)
INSERT INTO job_chunks (job_id, seq, first_row, row_count, format, payload)
SELECT j.id, 0, 1, input.rows, 'json', convert_to(input.payload, 'UTF8') FROM j JOIN input USING (id)
RETURNING job_id`;

export async function createOnlineJobs(db: pg.Pool | pg.ClientBase, subs: Omit<OnlineSubmission, 'idempotencyKey'>[]): Promise<string[]> {
  const input = subs.map((o) => ({
    id: randomUUID(), tenant_id: o.tenantId, model_version_id: o.version.id, columns: columnsOf(o.version),
    rows: o.records.length, payload: JSON.stringify(o.records), callback_url: o.callbackUrl,
  }));
  const { rows } = await db.query<{ job_id: string }>({ name: 'sluice_online_jobs', text: MANY_SQL, values: [JSON.stringify(input)] });
  if (rows.length !== input.length) throw new Error(`stored ${rows.length} of ${input.length} online jobs`);
  return input.map((i) => i.id);
}

/**
 * Finished small jobs and their results in one round trip (a job with no results, e.g. cancelled,
 * still gives its job row). Requests woken together read together (see the predictions route).
 * One entry per id, null for a job that is not there.
 */
const RESULTS_SQL = `
SELECT ${JOB_ROW_SQL}, pc.first_row, pc.row_count, pc.rows, pc.error
  FROM ${JOB_FROM_SQL} LEFT JOIN prediction_chunks pc ON pc.job_id = j.id
 WHERE j.id = ANY($1::uuid[])
 ORDER BY j.id, pc.first_row`;

export interface OnlineResult {
  job: JobRow;
  predictions: PredictionRow[];
}

type ResultJoin = JobRow & { first_row: number | null; row_count: number; rows: Buffer | null; error: string | null };

export async function readOnlineResults(db: pg.Pool, jobIds: string[]): Promise<(OnlineResult | null)[]> {
  const { rows } = await db.query<ResultJoin>({ name: 'sluice_online_results', text: RESULTS_SQL, values: [jobIds] });
  const byId = new Map<string, OnlineResult>();
  for (const { first_row, row_count, rows: stored, error, ...job } of rows) {
    let r = byId.get(job.id);
    if (!r) byId.set(job.id, (r = { job: job as JobRow, predictions: [] }));
    if (first_row !== null) r.predictions.push(...decodeResultRows({ first_row, row_count, rows: stored, error }));
  }
  return jobIds.map((id) => byId.get(id) ?? null);
}
