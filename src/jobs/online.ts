import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Routing } from '../models/canary.js';
import type { ResolvedVersion } from '../models/resolve.js';
import { neededColumns } from '../models/inputs.js';
import { decodeResultRows } from '../results/resultRows.js';
import type { PredictionRow } from '../results/predictionRow.js';
import type { JobRow } from '../db/jobRow.js';
import { insertOnlineJob } from '../db/insertOnlineJob.js';
import { bodyDigest } from './requestDigest.js';
import { insertOnlineJobs } from '../db/insertOnlineJobs.js';
import { selectOnlineResults } from '../db/selectOnlineResults.js';
import { INLINE_RECORDS_MAX_BYTES, type InlineChunk } from '../queue/chunkJobs.js';

export interface OnlineSubmission {
  tenantId: string;
  /** The version that scores it (through a split alias: the one pickVersion chose). */
  version: ResolvedVersion;
  /** How a split alias chose `version` (pickVersion), stored on the job; null otherwise. */
  routing?: Routing | null;
  records: unknown[];
  idempotencyKey: string | null;
  callbackUrl: string | null;
  /** The submitting request's base URL (see jobView). */
  baseUrl?: string | null;
  /** With an idempotency key: the request's digest (requestDigest.ts), kept to compare replays with. */
  requestDigest?: string | null;
}

const jobInput = (o: Omit<OnlineSubmission, 'idempotencyKey'>) => ({
  tenantId: o.tenantId, modelVersionId: o.version.id, columns: neededColumns(o.version.io.plan, o.version.signature),
  rows: o.records.length, payload: JSON.stringify(o.records), callbackUrl: o.callbackUrl, baseUrl: o.baseUrl ?? null, routing: o.routing ?? null,
});

/**
 * A small job from POST /v1/predictions: the job, its one chunk (the records as JSON) and its
 * counters in one statement, so it is durable before anyone is told it exists.
 */
export async function createOnlineJob(db: pg.Pool | pg.ClientBase, o: OnlineSubmission): Promise<string | null> {
  const input = jobInput(o);
  const body = o.requestDigest ? bodyDigestOf(input.payload) : null;
  return insertOnlineJob(db, { ...input, idempotencyKey: o.idempotencyKey, requestDigest: o.requestDigest ?? null, bodyDigest: body });
}

/**
 * Many small jobs (without idempotency keys) in ONE statement, so one commit makes them all
 * durable: the write behind group commit (groupCommit.ts). Ids are chosen here, so the caller can
 * start waiting for a job before any worker could have finished it.
 */
export async function createOnlineJobs(db: pg.Pool | pg.ClientBase, subs: Omit<OnlineSubmission, 'idempotencyKey'>[]): Promise<string[]> {
  return (await storeOnlineJobs(db, subs)).map((s) => s.jobId);
}

/** A small job as stored, with the copy of its records that may ride in the queue (chunkJobs.ts InlineChunk). */
export interface StoredOnlineJob {
  jobId: string;
  /** Null when the records are over INLINE_RECORDS_MAX_BYTES: the worker then loads them from Postgres. */
  inline: InlineChunk | null;
  /** The records' JSON text, in UTF-16 units (what bounds the copy). */
  bytes: number;
}

/** createOnlineJobs, also giving each job's records as committed, for the queue to carry. */
export async function storeOnlineJobs(db: pg.Pool | pg.ClientBase, subs: Omit<OnlineSubmission, 'idempotencyKey'>[]): Promise<StoredOnlineJob[]> {
  const jobs = subs.map((o) => ({ id: randomUUID(), ...jobInput(o) }));
  await insertOnlineJobs(db, jobs);
  return jobs.map((j, i) => ({
    jobId: j.id,
    bytes: j.payload.length,
    inline: j.payload.length <= INLINE_RECORDS_MAX_BYTES ? { tenantId: j.tenantId, modelVersionId: j.modelVersionId, modelName: subs[i].version.modelName, modelVersion: subs[i].version.version, columns: j.columns, records: subs[i].records } : null,
  }));
}

/** The digest of a prediction's records as stored (their JSON text). */
export function bodyDigestOf(payload: string): string {
  const d = bodyDigest();
  d.update(Buffer.from(payload));
  return d.digest();
}

export interface OnlineResult {
  job: JobRow;
  predictions: PredictionRow[];
}

/**
 * Finished small jobs and their results in one round trip (a job with no results, e.g. cancelled,
 * still gives its job row). Requests woken together read together (see the predictions route).
 * One entry per id, null for a job that is not there.
 */
export async function readOnlineResults(db: pg.Pool, jobIds: string[]): Promise<(OnlineResult | null)[]> {
  const byId = new Map<string, OnlineResult>();
  for (const { first_row, row_count, rows: stored, error, ...job } of await selectOnlineResults(db, jobIds)) {
    let r = byId.get(job.id);
    if (!r) byId.set(job.id, (r = { job: job as JobRow, predictions: [] }));
    if (first_row !== null) r.predictions.push(...decodeResultRows({ first_row, row_count, rows: stored, error }));
  }
  return jobIds.map((id) => byId.get(id) ?? null);
}
