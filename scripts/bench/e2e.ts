// End to end: a CSV uploaded through the api, scored by real worker processes, upload start →
// job completed. And the 2 GB upload for the api's memory (generated on the fly, never on disk).
import { Readable } from 'node:stream';
import pg from 'pg';
import { csvStreamOfSize, now, request, startApi, startWorker, waitForJob, type Proc, type Tenant } from './common.js';
import { cpuPerUnit, cpuSnapshot, type CpuSnapshot } from './cpu.js';

export interface E2eRun {
  workers: number;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  uploadSeconds: number;
  workerPeakRssMb: number[];
  apiPeakRssMb: number;
  /** CPU seconds per 1,000,000 rows by process during the measured job (scripts/bench/cpu.ts). */
  cpuSecondsPerMillionRows: CpuSnapshot;
  /** Postgres WAL written during the job (pg_stat_wal, the whole cluster: the bench is meant to run alone). */
  wal: { mbPerMillionRows: number; fullPageImagesPerMillionRows: number; checkpoints: number };
  /** The job's results read back whole as CSV (GET /v1/jobs/{id}/results) once it completed. */
  download: { seconds: number; rowsPerSecond: number; mb: number; cpuSecondsPerMillionRows: CpuSnapshot };
}

/** The cluster's WAL and checkpoint counters so far. */
async function walCounters(databaseUrl: string) {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query(`SELECT w.wal_bytes::float8 AS bytes, w.wal_fpi::float8 AS fpi, (b.checkpoints_timed + b.checkpoints_req)::float8 AS checkpoints
                                      FROM pg_stat_wal w, pg_stat_bgwriter b`);
    return rows[0] as { bytes: number; fpi: number; checkpoints: number };
  } finally {
    await c.end();
  }
}

export async function runJob(api: string, t: Tenant, buffers: Buffer[], model: string) {
  const t0 = now();
  const res = await request(`${api}/v1/jobs?model=${model}`, {
    method: 'POST',
    headers: { ...t.auth, 'content-type': 'text/csv' },
    body: Readable.from(buffers),
  });
  const uploaded = now();
  if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${res.body.slice(0, 500)}`);
  const job = await waitForJob(api, t, JSON.parse(res.body).id);
  const t1 = now();
  if (job.status !== 'completed' || job.rows.failed !== 0) throw new Error(`job ended ${job.status}: ${JSON.stringify(job)}`);
  return { id: job.id as string, seconds: (t1 - t0) / 1000, uploadSeconds: (uploaded - t0) / 1000, rows: job.rows.total as number };
}

/** One api, `workers` worker processes started fresh (so their VmHWM is this job's), one job. */
export async function e2e(env: Record<string, string>, t: Tenant, buffers: Buffer[], workers: number, workerEnv: Record<string, string> = {}, model = 'bench'): Promise<E2eRun> {
  const api = await startApi(env);
  const procs: Proc[] = [];
  try {
    for (let i = 0; i < workers; i++) procs.push(await startWorker({ ...env, ...workerEnv }));
    // Warm the model cache on every worker (first use downloads the model and opens sessions).
    await runJob(api.url, t, buffers.slice(0, 5), model);
    const roles = { api: api.pid, bench: process.pid, ...Object.fromEntries(procs.map((p, i) => [`worker${procs.length > 1 ? i + 1 : ''}`, p.pid])) };
    const database = new URL(env.DATABASE_URL).pathname.slice(1);
    const walBefore = await walCounters(env.DATABASE_URL);
    const before = cpuSnapshot(roles, database);
    const r = await runJob(api.url, t, buffers, model);
    const cpu = cpuPerUnit(before, cpuSnapshot(roles, database), r.rows / 1e6);
    const walAfter = await walCounters(env.DATABASE_URL);
    const download = await readResults(api.url, t, r.id, r.rows, roles, database);
    return {
      workers, rows: r.rows, seconds: r.seconds, rowsPerSecond: r.rows / r.seconds, uploadSeconds: r.uploadSeconds,
      workerPeakRssMb: procs.map((p) => p.peakRssMb()), apiPeakRssMb: api.peakRssMb(),
      // cpuPerUnit gives ms per unit; per million rows in seconds is the same number ÷ 1000.
      cpuSecondsPerMillionRows: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / 1000])),
      wal: {
        mbPerMillionRows: (walAfter.bytes - walBefore.bytes) / 1e6 / (r.rows / 1e6),
        fullPageImagesPerMillionRows: (walAfter.fpi - walBefore.fpi) / (r.rows / 1e6),
        checkpoints: walAfter.checkpoints - walBefore.checkpoints,
      },
      download,
    };
  } finally {
    for (const p of procs) await p.stop();
    await api.stop();
  }
}

/** Reads a completed job's results as CSV, timed, with the CPU each process spent on it. */
async function readResults(api: string, t: Tenant, jobId: string, rows: number, roles: Record<string, number>, database: string): Promise<E2eRun['download']> {
  const before = cpuSnapshot(roles, database);
  const t0 = now();
  const res = await request(`${api}/v1/jobs/${jobId}/results`, { headers: t.auth });
  const seconds = (now() - t0) / 1000;
  const cpu = cpuPerUnit(before, cpuSnapshot(roles, database), rows / 1e6);
  const lines = res.body.split('\n').length - 2; // header, and the empty string after the last newline
  if (res.status !== 200 || lines !== rows) throw new Error(`results answered ${res.status} with ${lines} rows of ${rows}`);
  return {
    seconds, rowsPerSecond: rows / seconds, mb: Buffer.byteLength(res.body) / 1e6,
    cpuSecondsPerMillionRows: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / 1000])),
  };
}

/**
 * Streams a generated CSV of `bytes` bytes through a fresh api and reads its VmHWM. No worker
 * consumes the chunks (its queue prefix has none): this is the api's memory while it stores them.
 */
export async function apiMemory(env: Record<string, string>, t: Tenant, bytes: number) {
  const api = await startApi({ ...env, REDIS_PREFIX: `${env.REDIS_PREFIX}-mem` });
  try {
    const idle = api.rssMb();
    const { stream, rows } = csvStreamOfSize(bytes);
    let sent = 0;
    stream.on('data', (b: Buffer) => (sent += b.length));
    let peakDuring = 0;
    const sampler = setInterval(() => (peakDuring = Math.max(peakDuring, api.rssMb())), 200);
    const t0 = now();
    const res = await request(`${api.url}/v1/jobs?model=bench`, { method: 'POST', headers: { ...t.auth, 'content-type': 'text/csv' }, body: stream });
    const seconds = (now() - t0) / 1000;
    clearInterval(sampler);
    if (res.status !== 202) throw new Error(`2 GB upload answered ${res.status}: ${res.body.slice(0, 300)}`);
    const job = JSON.parse(res.body);
    return { bytes: sent, rows, accepted: job.rows.total as number, seconds, mbPerSecond: sent / 1e6 / seconds, idleRssMb: idle, peakRssMb: api.peakRssMb(), jobId: job.id as string };
  } finally {
    await api.stop();
  }
}
