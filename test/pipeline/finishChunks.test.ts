import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishChunks, JobEndedMidGroupError, type ChunkOutcome } from '../../src/jobs/finishChunks.js';
import { encodeResultRows } from '../../src/results/resultRows.js';
import { storedRows } from '../helpers/results.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

// Several chunks finished in one transaction (the small jobs of one inference batch): each row
// still ends with exactly one result, redelivered chunks change nothing, and a job that ended
// meanwhile spoils only the group (which is then finished chunk by chunk).
let env: TestEnv;
let versionId: number;
let tenantId: string;

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

/** A job of `chunks` chunks of `rows` rows each, upload complete, nothing scored yet. */
async function job(chunks: number, rows = 2, callbackUrl: string | null = null): Promise<string> {
  const { rows: r } = await env.pool.query(
    `INSERT INTO jobs (tenant_id, model_version_id, kind, status, columns, upload_complete, rows_total, chunks_total, started_at, callback_url)
     VALUES ($1, $2, 'online', 'running', '{a}', true, $3, $4, now(), $5) RETURNING id`,
    [tenantId, versionId, chunks * rows, chunks, callbackUrl],
  );
  for (let seq = 0; seq < chunks; seq++) {
    await env.pool.query(`INSERT INTO job_chunks (job_id, seq, first_row, row_count, format, payload) VALUES ($1, $2, $3, $4, 'json', '\\x5b5d')`, [r[0].id, seq, seq * rows + 1, rows]);
  }
  return r[0].id;
}

function outcome(jobId: string, seq: number, rows = 2): ChunkOutcome {
  const lines = Array.from({ length: rows }, (_, i) => ({ value: i, scores: [0.5, 0.5], passthrough: null, error: null }));
  return { ref: { jobId, seq }, firstRow: seq * rows + 1, rowCount: rows, rows: encodeResultRows(lines), succeeded: rows, failed: 0 };
}

const stored = async (jobId: string) => {
  const rows = (await storedRows(env.pool, jobId)).map((r) => r.row_no);
  return { n: rows.length, d: new Set(rows).size };
};
const status = async (jobId: string) => (await env.pool.query(`SELECT status, rows_succeeded::int, chunks_done FROM jobs WHERE id = $1`, [jobId])).rows[0];

describe('finishChunks', () => {
  it('finishes the chunks of several jobs in one transaction; each job is told once that it finished', async () => {
    const a = await job(1);
    const b = await job(2);
    const res = await finishChunks(env.pool, [outcome(a, 0), outcome(b, 0), outcome(b, 1)], { baseUrl: '' }, 5000);
    expect(res.map((r) => r.applied)).toEqual([true, true, true]);
    expect(res.filter((r) => r.applied && r.finished).map((r) => r.applied && r.job?.id).sort()).toEqual([a, b].sort());
    expect(await status(a)).toEqual({ status: 'completed', rows_succeeded: 2, chunks_done: 1 });
    expect(await status(b)).toEqual({ status: 'completed', rows_succeeded: 4, chunks_done: 2 });
    expect(await stored(b)).toEqual({ n: 4, d: 4 });
  });

  it('jobs ended by one group each owe their own webhook, carrying their own job', async () => {
    const a = await job(1, 2, 'https://example.com/a');
    const b = await job(1, 2, 'https://example.com/b');
    const quiet = await job(1);
    const res = await finishChunks(env.pool, [outcome(a, 0), outcome(b, 0), outcome(quiet, 0)], { baseUrl: '' }, 5000);
    const owed = new Map(res.map((r) => (r.applied && r.job ? [r.job.id, r.deliveries] : ['', []])));
    expect(owed.get(a)).toHaveLength(1);
    expect(owed.get(b)).toHaveLength(1);
    expect(owed.get(quiet)).toEqual([]);
    const { rows } = await env.pool.query(`SELECT id, job_id, url, event_type, payload FROM webhook_deliveries WHERE job_id = ANY($1) ORDER BY url`, [[a, b, quiet]]);
    expect(rows.map((d) => [d.id, d.job_id, d.url, d.event_type, d.payload.data.id])).toEqual([
      [owed.get(a)![0], a, 'https://example.com/a', 'job.completed', a],
      [owed.get(b)![0], b, 'https://example.com/b', 'job.completed', b],
    ]);
  });

  it('a redelivered chunk in a group changes nothing; the others go in', async () => {
    const a = await job(2);
    await finishChunks(env.pool, [outcome(a, 0)], { baseUrl: '' }, 5000);
    const res = await finishChunks(env.pool, [outcome(a, 0), outcome(a, 1)], { baseUrl: '' }, 5000);
    expect(res.map((r) => r.applied)).toEqual([false, true]);
    expect(await stored(a)).toEqual({ n: 4, d: 4 });
    expect(await status(a)).toEqual({ status: 'completed', rows_succeeded: 4, chunks_done: 2 });
  });

  it('a job not running any more: its chunk is not marked, the rest of the group goes in', async () => {
    const a = await job(1);
    const b = await job(1);
    await env.pool.query(`UPDATE jobs SET status = 'cancelled', finished_at = now() WHERE id = $1`, [b]);
    const res = await finishChunks(env.pool, [outcome(a, 0), outcome(b, 0)], { baseUrl: '' }, 5000);
    expect(res.map((r) => r.applied)).toEqual([true, false]);
    expect(await stored(b)).toEqual({ n: 0, d: 0 });
    expect(await status(a)).toMatchObject({ status: 'completed' });
  });

  it('a job cancelled while the group was copying spoils the group, which stores nothing; alone, the chunk is refused', async () => {
    const a = await job(1);
    const b = await job(1);
    // A cancel holding b's row lock: the group marks both chunks, copies, then waits on b at the
    // counters; the cancel commits, and the group sees b ended.
    const canceller = await env.pool.connect();
    await canceller.query('BEGIN');
    await canceller.query(`SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE`, [b]);
    const group = finishChunks(env.pool, [outcome(a, 0), outcome(b, 0)], { baseUrl: '' }, 5000);
    group.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    let waiting = false;
    for (let i = 0; i < 1000 && !waiting; i++) {
      // Only this database's waits: pg_locks is cluster-wide, and other test files run beside this one.
      const { rows } = await env.pool.query(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())`);
      waiting = rows[0].n > 0;
      if (!waiting) await new Promise((r) => setTimeout(r, 10));
    }
    expect(waiting).toBe(true); // the group is blocked on b's lock, so the cancel below lands mid-group
    await canceller.query(`UPDATE jobs SET status = 'cancelled', finished_at = now() WHERE id = $1`, [b]);
    await canceller.query('COMMIT');
    canceller.release();
    await expect(group).rejects.toBeInstanceOf(JobEndedMidGroupError);
    expect(await stored(a)).toEqual({ n: 0, d: 0 });
    expect(await status(a)).toMatchObject({ status: 'running', chunks_done: 0 });
    // What the group committer does next: each alone.
    expect((await finishChunks(env.pool, [outcome(b, 0)], { baseUrl: '' }, 5000))[0].applied).toBe(false);
    expect((await finishChunks(env.pool, [outcome(a, 0)], { baseUrl: '' }, 5000))[0].applied).toBe(true);
    expect(await stored(a)).toEqual({ n: 2, d: 2 });
    expect(await stored(b)).toEqual({ n: 0, d: 0 });
  });
});
