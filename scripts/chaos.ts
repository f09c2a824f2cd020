// npm run chaos: the long version of test/reliability. Its own Postgres and Redis on free ports,
// an api and three workers as real processes, a few hundred thousand rows in several jobs, and on
// the way: workers SIGKILLed mid-chunk, a rolling SIGTERM restart, a Redis FLUSHALL, Postgres
// stopped and restarted, Redis killed and restarted empty, with single predictions in flight through
// each fault (scripts/chaosPredictions.ts). Then it counts: rows expected, rows
// stored, duplicates, gaps, jobs stuck, and how long each fault took to heal. Exit 1 on any loss.
//
//   npm run chaos                       # 300 000 rows in 5 jobs
//   CHAOS_ROWS=600000 CHAOS_JOBS=6 npm run chaos
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { decodeResultRows, type StoredChunk } from '../src/results/resultRows.js';
import { createKey } from '../src/auth/tenants.js';
import { rowsCsv, slowClassifier } from '../test/reliability/data.js';
import { startPostgres, startRedisServer, waitFor } from '../test/reliability/infra.js';
import { startApi as apiProcess, killAll, startWorker as worker, type Proc } from '../test/helpers/processes.js';
import { startPredictionLoad } from './chaosPredictions.js';

const TOTAL = Number(process.env.CHAOS_ROWS ?? 300_000);
const JOBS = Number(process.env.CHAOS_JOBS ?? 5);
const CHUNK_ROWS = Number(process.env.CHAOS_CHUNK_ROWS ?? 1000);
const perJob = Math.floor(TOTAL / JOBS);
const t0 = Date.now();
const say = (msg: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}`);

const pgs = await startPostgres();
const redis = await startRedisServer();
const cacheDir = await mkdtemp(path.join(tmpdir(), 'sluice-chaos-models-'));
const env: Record<string, string> = {
  DATABASE_URL: pgs.url, REDIS_URL: redis.url, REDIS_PREFIX: 'chaos', MODEL_CACHE_DIR: cacheDir, WEBHOOK_ALLOW_PRIVATE: 'true',
  CHUNK_ROWS: String(CHUNK_ROWS), LOCK_DURATION_MS: '3000', STALLED_INTERVAL_MS: '1500', RECONCILE_INTERVAL_MS: '2000',
  WORKER_CONCURRENCY: '2', INFERENCE_THREADS: '1', SHUTDOWN_GRACE_MS: '20000',
};
const pool = new pg.Pool({ connectionString: pgs.url, max: 3 });
pool.on('error', () => {});
const exitCode = await run().catch((err) => {
  console.error(err);
  return 2;
});
await killAll();
await pool.end().catch(() => {});
await Promise.allSettled([pgs.remove(), redis.remove(), rm(cacheDir, { recursive: true, force: true })]);
process.exit(exitCode);

async function run(): Promise<number> {
  say(`own Postgres at ${pgs.url}, own Redis at ${redis.url}`);
  const api = await apiProcess(env);
  const workers: Proc[] = await Promise.all([1, 2, 3].map(() => worker(env)));
  const { key } = await createKey(pool, 'chaos');
  const auth = { authorization: `Bearer ${key}` };
  const m = slowClassifier();
  const form = new FormData();
  form.set('signature', JSON.stringify(m.signature));
  form.set('model', new Blob([Buffer.from(m.onnx)]), 'slow.onnx');
  const reg = await fetch(`${api.url}/v1/models/slow/versions`, { method: 'POST', body: form, headers: auth });
  if (reg.status !== 201) throw new Error(`model registration: ${reg.status} ${await reg.text()}`);

  // Single predictions in flight through every fault, each checked (scripts/chaosPredictions.ts):
  // their reference is taken before the batch jobs load the workers.
  const predictions = await startPredictionLoad(api.url, auth, 'slow');
  say('single predictions: reference taken; 2 clients send from now until after the last fault');
  const ids: string[] = [];
  for (let j = 0; j < JOBS; j++) {
    const res = await fetch(`${api.url}/v1/jobs?model=slow`, { method: 'POST', body: rowsCsv(perJob), headers: { ...auth, 'content-type': 'text/csv' } });
    if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
    ids.push((await res.json()).id);
  }
  say(`${JOBS} jobs of ${perJob} rows submitted (${JOBS * perJob} rows, ${Math.ceil(perJob / CHUNK_ROWS) * JOBS} chunks)`);

  const q = async <T extends pg.QueryResultRow>(sql: string, args: unknown[] = []) => {
    for (;;) {
      try {
        return (await pool.query<T>(sql, args)).rows;
      } catch {
        await new Promise((r) => setTimeout(r, 200)); // our own Postgres may be down on purpose
      }
    }
  };
  // Progress is the batch jobs' (the single predictions above make small jobs all along).
  const totalChunks = (await q<{ n: number }>(`SELECT sum(chunks_total)::int AS n FROM jobs WHERE kind = 'batch'`))[0].n;
  const done = async () => (await q<{ n: number }>(`SELECT sum(chunks_done)::int AS n FROM jobs WHERE kind = 'batch'`))[0].n;
  const inHand = async () =>
    (await q<{ job_id: string; seq: number }>(`SELECT c.job_id, c.seq FROM job_chunks c JOIN jobs j ON j.id = c.job_id AND j.kind = 'batch' WHERE c.status = 'pending' AND c.attempts > 0`)).map((r) => `${r.job_id}/${r.seq}`);

  const pendingRecoveries: Promise<void>[] = [];
  const faults: string[] = [];
  const recoveries: { fault: string; chunksInHand: number; predictionsInFlight: number; lastedSeconds: number; resumedSeconds: number; recoverSeconds: number }[] = [];

  /** Runs a fault once `fraction` of all chunks are done; then times until the chunks that were in hand are all done. */
  async function fault(fraction: number, name: string, act: () => Promise<void>) {
    await waitFor(async () => (await done()) >= totalChunks * fraction, 600_000, `${fraction * 100}% done`, 100);
    // Strike while workers hold chunks (right after a previous fault they may be idle for a moment).
    let held: string[] = [];
    await waitFor(async () => (held = await inHand()).length > 0 || (await done()) >= totalChunks, 60_000, 'chunks in hand', 50);
    await waitFor(async () => predictions.inFlight() > 0, 60_000, 'a single prediction in flight', 5);
    const predictionsInFlight = predictions.inFlight();
    say(`${name} (at ${Math.round(fraction * 100)}% of chunks, ${held.length} chunk(s) in hand, ${predictionsInFlight} single prediction(s) in flight)`);
    const struck = Date.now();
    faults.push(name);
    await act();
    const healedFrom = Date.now();
    const doneAtEnd = await done();
    await waitFor(async () => (await done()) > doneAtEnd || (await done()) >= totalChunks, 600_000, 'progress', 50);
    const resumed = (Date.now() - healedFrom) / 1000;
    const lasted = (healedFrom - struck) / 1000;
    say(`  fault lasted ${lasted.toFixed(1)} s (incl. starting replacements); progress resumed ${resumed.toFixed(1)} s after it`);
    // The chunks that were in hand are timed in the background: the next fault does not wait for them.
    pendingRecoveries.push(
      waitFor(async () => {
        if (!held.length) return true;
        const rows = await q<{ n: number }>(`SELECT count(*)::int AS n FROM job_chunks WHERE status = 'pending' AND (job_id::text || '/' || seq) = ANY($1)`, [held]);
        return rows[0].n === 0;
      }, 600_000, `recovery from ${name}`, 100).then(() => {
        const s = (Date.now() - struck) / 1000;
        recoveries.push({ fault: name, chunksInHand: held.length, predictionsInFlight, lastedSeconds: Number(lasted.toFixed(1)), resumedSeconds: Number(resumed.toFixed(1)), recoverSeconds: Number(s.toFixed(1)) });
      }),
    );
  }
  const replace = async (i: number, signal: NodeJS.Signals) => {
    const old = workers[i];
    if (signal === 'SIGTERM') workers[i] = await worker(env); // rolling: the new one first
    const code = await old.stop(signal);
    if (signal === 'SIGTERM' && code !== 0) throw new Error(`worker exited ${code} on SIGTERM`);
    if (signal === 'SIGKILL') workers[i] = await worker(env);
  };
  const hold = (ms: number) => new Promise((r) => setTimeout(r, ms)); // an outage lasting ms is the fault itself

  await fault(0.08, 'SIGKILL worker 1', () => replace(0, 'SIGKILL'));
  await fault(0.18, 'SIGKILL worker 2', () => replace(1, 'SIGKILL'));
  await fault(0.28, 'Redis FLUSHALL', async () => {
    const r = redis.client();
    await r.flushall();
    r.disconnect();
  });
  await fault(0.4, 'Postgres stopped 5 s, restarted', async () => {
    await pgs.stop();
    await hold(5000);
    await pgs.start();
  });
  await fault(0.52, 'SIGKILL worker 3', () => replace(2, 'SIGKILL'));
  await fault(0.62, 'rolling SIGTERM restart of worker 1', () => replace(0, 'SIGTERM'));
  await fault(0.72, 'Redis SIGKILLed, down 7 s, restarted empty', async () => {
    await redis.kill();
    await hold(7000);
    await redis.start();
  });
  await fault(0.8, 'SIGKILL two workers at once', async () => {
    await Promise.all([replace(1, 'SIGKILL'), replace(2, 'SIGKILL')]);
  });

  await predictions.stop();
  await waitFor(async () => (await q<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE status NOT IN ('completed', 'failed', 'cancelled')`))[0].n === 0, 600_000, 'all jobs final', 250);
  await Promise.all(pendingRecoveries);
  say('all jobs final; counting');
  const [s] = await q<Record<string, number>>(
    `WITH p AS (SELECT pc.job_id, g AS row_no FROM prediction_chunks pc JOIN jobs j ON j.id = pc.job_id AND j.kind = 'batch', generate_series(pc.first_row, pc.first_row + pc.row_count - 1) g)
     SELECT (SELECT count(*) FROM p)::int AS stored,
            (SELECT count(*) FROM (SELECT DISTINCT job_id, row_no FROM p) d)::int AS distinct_rows,
            (SELECT coalesce(sum(row_no), 0) FROM p)::float8 AS row_sum,
            (SELECT sum(rows_succeeded + rows_failed) FROM jobs WHERE kind = 'batch')::int AS counted,
            (SELECT count(*) FROM jobs WHERE status NOT IN ('completed', 'failed', 'cancelled'))::int AS stuck,
            (SELECT count(*) FROM jobs WHERE status = 'completed' AND kind = 'batch')::int AS completed,
            (SELECT count(*) FROM job_chunks WHERE attempts > 1)::int AS restarted_chunks,
            (SELECT count(*) FROM p WHERE row_no < 1 OR row_no > $1)::int AS out_of_range`,
    [perJob],
  );
  // Row errors are inside each chunk's stored results: decode them to count.
  const chunks = await q<StoredChunk>(`SELECT first_row::float8 AS first_row, row_count, rows, error FROM prediction_chunks pc JOIN jobs j ON j.id = pc.job_id AND j.kind = 'batch'`);
  const single = await predictions.verify(q);
  s.error_rows = chunks.reduce((n, c) => n + decodeResultRows(c).filter((r) => r.error !== null).length, 0);
  const expected = JOBS * perJob;
  const expectedSum = (JOBS * perJob * (perJob + 1)) / 2;
  const order = faults;
  const summary = {
    rows_expected: expected,
    rows_stored: s.stored,
    duplicates: s.stored - s.distinct_rows + Math.max(0, s.counted - s.stored),
    gaps: expected - s.distinct_rows + s.out_of_range,
    row_number_checksum_ok: s.row_sum === expectedSum,
    error_rows: s.error_rows,
    jobs: JOBS,
    jobs_completed: s.completed,
    jobs_stuck: s.stuck,
    chunks_restarted: s.restarted_chunks,
    duration_seconds: Number(((Date.now() - t0) / 1000).toFixed(1)),
  };
  console.log('\n| fault | chunks in hand | single predictions in flight | fault lasted | progress resumed (after the fault) | chunks in hand all done (after it began) |\n|---|---:|---:|---:|---:|---:|');
  for (const r of recoveries.sort((x, y) => order.indexOf(x.fault) - order.indexOf(y.fault))) console.log(`| ${r.fault} | ${r.chunksInHand} | ${r.predictionsInFlight} | ${r.lastedSeconds} s | ${r.resumedSeconds} s | ${r.recoverSeconds} s |`);
  const { failures, ...singleSummary } = single;
  console.log('\n' + JSON.stringify({ ...summary, single_predictions: singleSummary }, null, 2));
  for (const f of failures.slice(0, 20)) console.log(`single prediction FAILED: ${f}`);
  for (const w of workers) await w.stop('SIGTERM');
  await api.stop('SIGTERM');
  const singleOk = single.wrong === 0 && single.lost === 0 && Object.keys(single.unexpected).length === 0 && single.answered_200 > 0;
  const ok = summary.duplicates === 0 && summary.gaps === 0 && summary.jobs_stuck === 0 && summary.row_number_checksum_ok && summary.rows_stored === expected && singleOk;
  say(ok ? 'OK: every row exactly once, no job stuck, every single prediction answered right or retryably' : 'FAILED: rows lost, doubled or stuck, or a single prediction wrong or lost');
  return ok ? 0 : 1;
}
