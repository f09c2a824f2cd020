import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishSmallChunks, JobEndedMidFinishError } from '../../src/db/finishSmallChunks.js';
import type { ChunkOutcome } from '../../src/jobs/finishChunks.js';
import { finishSmallJobs } from '../../src/jobs/finishSmallJobs.js';
import { viewContext } from '../../src/jobs/view.js';
import { encodeResultRows } from '../../src/results/resultRows.js';
import { waitFor } from '../reliability/infra.js';
import { storedRows } from '../helpers/results.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

// The small jobs' commit in one statement (src/db/finishSmallChunks.ts) gives what the
// transaction of finishChunks gives: every row once, a redelivery a no-op, a job that ended
// meanwhile untouched (the statement rolls back whole), and what it must not take (a webhook owed,
// row errors) goes through finishChunks.
let env: TestEnv;
let versionId: number;
let tenantId: string;
const view = () => viewContext(env.config);

beforeAll(async () => {
  env = await createTestEnv();
  tenantId = (await env.pool.query(`INSERT INTO tenants (name) VALUES ('acme') RETURNING id`)).rows[0].id;
  const model = (await env.pool.query(`INSERT INTO models (tenant_id, name) VALUES ($1, 'm') RETURNING id`, [tenantId])).rows[0].id;
  versionId = (await env.pool.query(
    `INSERT INTO model_versions (model_id, version, onnx, sha256, size_bytes, signature, io) VALUES ($1, 1, '\\x00', 'x', 1, '{}', '{}') RETURNING id`,
    [model],
  )).rows[0].id;
});
afterAll(async () => env?.close());

/** A single prediction's job as the api stores it: queued, one chunk, never loaded. */
async function smallJob(callbackUrl: string | null = null): Promise<string> {
  const { rows } = await env.pool.query(
    `INSERT INTO jobs (tenant_id, model_version_id, kind, status, columns, upload_complete, rows_total, chunks_total, callback_url)
     VALUES ($1, $2, 'online', 'queued', '{a}', true, 1, 1, $3) RETURNING id`,
    [tenantId, versionId, callbackUrl],
  );
  await env.pool.query(`INSERT INTO job_chunks (job_id, seq, first_row, row_count, format, payload) VALUES ($1, 0, 1, 1, 'json', '\\x5b5d')`, [rows[0].id]);
  return rows[0].id;
}

const TAKEN = Date.parse('2026-01-02T03:04:05.678Z');
function outcome(jobId: string, error: string | null = null): ChunkOutcome {
  const rows = encodeResultRows([{ value: error ? null : 1, scores: error ? null : [0.25, 0.75], passthrough: null, error }]);
  return {
    ref: { jobId, seq: 0 }, firstRow: 1, rowCount: 1, rows, succeeded: error ? 0 : 1, failed: error ? 1 : 0, startedAt: TAKEN,
    ...(error && { errors: [{ code: 'invalid_value', message: error, count: 1, firstRows: [1] }] }),
  };
}
const state = async (jobId: string) =>
  (await env.pool.query(
    `SELECT j.status, j.rows_succeeded::int AS succeeded, j.rows_failed::int AS failed, j.chunks_done, j.started_at, c.status AS chunk, c.payload IS NULL AS cleared,
            (SELECT count(*)::int FROM prediction_chunks p WHERE p.job_id = j.id) AS stored
       FROM jobs j JOIN job_chunks c ON c.job_id = j.id WHERE j.id = $1`,
    [jobId],
  )).rows[0];

describe('finishing single predictions in one statement', () => {
  it('a group commits whole: done, stored once, counted, completed, started when the worker took it', async () => {
    const ids = [await smallJob(), await smallJob(), await smallJob()];
    const finished = await finishSmallJobs(env.pool, ids.map((id) => outcome(id)), view(), 5000);
    expect(finished.map((f) => f.applied && f.finished && f.job?.status)).toEqual(['completed', 'completed', 'completed']);
    for (const id of ids) {
      expect(await state(id)).toEqual({ status: 'completed', succeeded: 1, failed: 0, chunks_done: 1, started_at: new Date(TAKEN), chunk: 'done', cleared: true, stored: 1 });
      expect((await storedRows(env.pool, id)).map((r) => [r.row_no, r.value, r.scores])).toEqual([[1, 1, [0.25, 0.75]]]);
    }
    // Redelivered: nothing applied, nothing doubled.
    const again = await finishSmallJobs(env.pool, ids.map((id) => outcome(id)), view(), 5000);
    expect(again.every((f) => !f.applied)).toBe(true);
    for (const id of ids) expect((await state(id)).stored).toBe(1);
  });

  it('a job owing a webhook, or with row errors, is finished by the transaction, with its delivery and its error summary', async () => {
    const hooked = await smallJob('https://example.com/hook');
    const bad = await smallJob();
    const plain = await smallJob();
    const finished = await finishSmallJobs(env.pool, [outcome(hooked), outcome(bad, 'not a number'), outcome(plain)], view(), 5000);
    expect(finished.map((f) => f.applied && f.finished)).toEqual([true, true, true]);
    expect(finished[0].applied && finished[0].deliveries).toHaveLength(1);
    const deliveries = await env.pool.query(`SELECT event_type FROM webhook_deliveries WHERE job_id = $1`, [hooked]);
    expect(deliveries.rows).toEqual([{ event_type: 'job.completed' }]);
    expect(await state(bad)).toMatchObject({ status: 'failed', failed: 1, stored: 1 });
    const errors = await env.pool.query(`SELECT code, count::int FROM job_errors WHERE job_id = $1`, [bad]);
    expect(errors.rows).toEqual([{ code: 'invalid_value', count: 1 }]);
    expect(await state(plain)).toMatchObject({ status: 'completed', stored: 1 });
  });

  it('a job cancelled while the statement waits for its row: the statement rolls back whole, and nothing of it is stored', async () => {
    const id = await smallJob();
    const canceller = await env.pool.connect();
    try {
      await canceller.query('BEGIN');
      await canceller.query(`SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE`, [id]);
      const finishing = finishSmallChunks(env.pool, [{ jobId: id, seq: 0, firstRow: 1, rowCount: 1, succeeded: 1, failed: 0, rows: outcome(id).rows, startedAt: TAKEN }]).then(
        () => null,
        (err: unknown) => err,
      );
      // The statement has marked the chunk (in its own snapshot) and waits for the job row.
      await waitFor(async () => {
        const { rows } = await env.pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%marked AS%'`);
        return rows.length > 0;
      }, 10_000, 'the finishing statement waiting for the job row', 10);
      await canceller.query(`UPDATE jobs SET status = 'cancelled', finished_at = now() WHERE id = $1`, [id]);
      await canceller.query('COMMIT');
      expect(await finishing).toBeInstanceOf(JobEndedMidFinishError);
    } finally {
      canceller.release();
    }
    expect(await state(id)).toMatchObject({ status: 'cancelled', chunk: 'pending', cleared: false, stored: 0, chunks_done: 0 });
    // Through finishSmallJobs the same chunk goes to finishChunks, which finds the job ended.
    expect(await finishSmallJobs(env.pool, [outcome(id)], view(), 5000)).toEqual([{ applied: false }]);
    expect((await state(id)).stored).toBe(0);
  });
});
