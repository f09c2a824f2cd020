// Shared plumbing for `npm run bench`: its own database and Redis prefix on the shared services,
// the benchmark model, generated data, child processes of ours, and small statistics helpers.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import pg from 'pg';
import { seededRandom } from '../train/datasets.js';
import { Redis } from 'ioredis';
import { createKey } from '../../src/auth/tenants.js';
import { migrate } from '../../src/db/migrate.js';
import { fixedWeights, mlpClassifier } from '../../test/fixtures/onnxBuilder.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const COLUMNS = Array.from({ length: 20 }, (_, i) => `f${i}`);
export const LABELS = ['low', 'mid', 'high'];

// ---------------------------------------------------------------- statistics

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
export const now = () => performance.now();
/** Runs fn `repeats` times and returns the median of what it returns (e.g. rows/s). */
export async function medianOf(repeats: number, fn: () => Promise<number> | number): Promise<{ median: number; runs: number[] }> {
  const runs: number[] = [];
  for (let i = 0; i < repeats; i++) runs.push(await fn());
  return { median: median(runs), runs };
}
export const round = (x: number, digits = 0) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

// ---------------------------------------------------------------- the model

/** The benchmark model: an MLP 20 → 64 (ReLU) → 3 with softmax, classification. */
export function benchModel(): { onnx: Uint8Array; signature: Record<string, unknown> } {
  const onnx = mlpClassifier(
    [
      { weights: fixedWeights(64, 20, 3), bias: Array.from({ length: 64 }, (_, i) => ((i % 7) - 3) / 100) },
      { weights: fixedWeights(3, 64, 5), bias: [0.01, -0.02, 0.03] },
    ],
    { softmax: true },
  );
  const signature = {
    columns: COLUMNS,
    task: 'classification',
    output: 'probabilities',
    labels: LABELS,
    mean: COLUMNS.map((_, j) => (j % 5) / 10),
    std: COLUMNS.map((_, j) => 1 + (j % 3) / 2),
    missing: 'error',
  };
  return { onnx, signature };
}

// ---------------------------------------------------------------- data

/** Deterministic pseudo-random numbers: the demo split's PRNG. */
export const rng = seededRandom;

export const csvHeader = () => `${COLUMNS.join(',')}\n`;

/** `rows` data rows, 20 numeric columns (signs, 4 decimals: about 150 bytes a row), no header. */
export function csvRows(rows: number, seed = 1): string {
  const r = rng(seed);
  let out = '';
  for (let i = 0; i < rows; i++) {
    let line = '';
    for (let j = 0; j < COLUMNS.length; j++) line += (j ? ',' : '') + ((r() - 0.5) * 8).toFixed(4);
    out += `${line}\n`;
  }
  return out;
}

/** A whole CSV of `rows` rows as 1 MB-ish buffers, generated once before a measurement. */
export function csvBuffers(rows: number, seed = 1): Buffer[] {
  const out: Buffer[] = [Buffer.from(csvHeader())];
  const per = 6000;
  for (let done = 0; done < rows; done += per) out.push(Buffer.from(csvRows(Math.min(per, rows - done), seed + done)));
  return out;
}

/** A CSV of about `bytes` bytes generated on the fly by repeating one block: nothing is written to disk. */
export function csvStreamOfSize(bytes: number): { stream: Readable; rows: number } {
  const block = Buffer.from(csvRows(20_000, 99));
  const blocks = Math.ceil(bytes / block.length);
  let sent = -1;
  const stream = new Readable({
    highWaterMark: 4 * 1024 * 1024,
    read() {
      if (sent === -1) {
        sent = 0;
        this.push(Buffer.from(csvHeader()));
        return;
      }
      if (sent >= blocks) return void this.push(null);
      sent++;
      this.push(block);
    },
  });
  return { stream, rows: blocks * 20_000 };
}

// ---------------------------------------------------------------- database, Redis

export interface BenchDb {
  name: string;
  url: string;
  pool: pg.Pool;
  /**
   * Vacuums the bench database and checkpoints the cluster, so that a section does not pay for the
   * one before it: the stage tables' and the previous run's dead rows, and the WAL they left
   * (a checkpoint due, full-page images after it). Needs a superuser (BENCH_ADMIN_DATABASE_URL).
   */
  settle(): Promise<void>;
  drop(): Promise<void>;
}

export async function createBenchDb(): Promise<BenchDb> {
  const name = `sluice_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDb(ADMIN_URL, name);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await migrate(c);
  await c.end();
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  pool.on('error', () => {});
  return {
    name,
    url,
    pool,
    async settle() {
      await pool.query('VACUUM (ANALYZE)');
      await pool.query('CHECKPOINT');
    },
    async drop() {
      await pool.end().catch(() => {});
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export function withDb(url: string, db: string) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Deletes every key under the bench's own prefix (never anything else). */
export async function dropRedisPrefix(prefix: string) {
  const r = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await r.del(...keys);
  } while (cursor !== '0');
  r.disconnect();
}

// ---------------------------------------------------------------- processes

export interface Proc {
  child: ChildProcess;
  pid: number;
  /**
   * Resolves with the process's readiness message on its IPC channel (`{ ready: true, ... }`, see
   * src/lifecycle.ts). A process that exits first, or is not ready in time, is killed and this rejects.
   */
  ready(timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Peak resident set size (VmHWM) in MB: the high-water mark since the process started. */
  peakRssMb(): number;
  rssMb(): number;
  stop(): Promise<void>;
}

/**
 * Starts one of our entry points as ONE node process (node --import tsx), so /proc/<pid>/status
 * is the process that does the work (the tsx CLI would put a wrapper process in between).
 */
export function startProcess(script: string, env: Record<string, string>): Proc {
  // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the processes under load.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_CHECKOUT (in env) runs the process from another checkout: an earlier commit's worktree
  // with its own node_modules, for a before/after measured interleaved (npm run bench:ab).
  const root = env.BENCH_CHECKOUT ?? ROOT;
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(root, script)], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const readyMessage = new Promise<Record<string, unknown>>((resolve) => {
    child.on('message', (m: Record<string, unknown>) => m?.ready && resolve(m));
  });
  const lines: string[] = [];
  const onLine = (line: string) => {
    lines.push(line);
    if (lines.length > 200) lines.shift();
    if (process.env.BENCH_VERBOSE) process.stderr.write(`[${path.basename(script)}:${child.pid}] ${line}\n`);
  };
  readline.createInterface({ input: child.stdout! }).on('line', onLine);
  readline.createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = once(child, 'exit');
  const status = (field: string) => {
    try {
      const m = readFileSync(`/proc/${child.pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+) kB`));
      return m ? Number(m[1]) / 1024 : NaN;
    } catch {
      return NaN;
    }
  };
  return {
    child,
    pid: child.pid!,
    async ready(timeoutMs = 60_000) {
      let timer: NodeJS.Timeout | undefined;
      const failed = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${script} was not ready within ${timeoutMs} ms; last lines:\n${lines.slice(-10).join('\n')}`)), timeoutMs);
        exited.then(() => reject(new Error(`${script} exited before it was ready; last lines:\n${lines.slice(-10).join('\n')}`)));
      });
      failed.catch(() => {}); // once ready, a later exit is no failure to start
      try {
        return await Promise.race([readyMessage, failed]);
      } catch (err) {
        child.kill('SIGKILL'); // a process that failed to start gets no stop() call
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
    peakRssMb: () => status('VmHWM'),
    rssMb: () => status('VmRSS'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** The metrics port a process named in its readiness message (null: METRICS_ENABLED=false). */
const metricsPortOf = (m: Record<string, unknown>) => (typeof m.metricsPort === 'number' ? m.metricsPort : null);

export async function startApi(env: Record<string, string>): Promise<Proc & { url: string; port: number; metricsPort: number | null }> {
  // PORT 0: the api listens on a free port and names it in its readiness message.
  const p = startProcess('src/server.ts', { ...env, PORT: '0', HOST: '127.0.0.1' });
  const ready = await p.ready();
  const port = Number(ready.port);
  return Object.assign(p, { url: `http://127.0.0.1:${port}`, port, metricsPort: metricsPortOf(ready) });
}

export async function startWorker(env: Record<string, string>): Promise<Proc & { metricsPort: number | null }> {
  const p = startProcess('workers/predict.ts', env);
  return Object.assign(p, { metricsPort: metricsPortOf(await p.ready()) });
}

// ---------------------------------------------------------------- HTTP

export const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer | Readable },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body instanceof Readable) opts.body.pipe(req);
    else req.end(opts.body);
  });
}

export interface Tenant {
  key: string;
  auth: Record<string, string>;
}

export async function createTenant(pool: pg.Pool, name: string): Promise<Tenant> {
  const { key } = await createKey(pool, name);
  return { key, auth: { authorization: `Bearer ${key}` } };
}

export async function registerModel(api: string, t: Tenant, name: string, model = benchModel()): Promise<void> {
  const { onnx, signature } = model;
  const form = new FormData();
  form.set('signature', JSON.stringify(signature));
  form.set('model', new Blob([Buffer.from(onnx)]), `${name}.onnx`);
  const res = await fetch(`${api}/v1/models/${name}/versions`, { method: 'POST', body: form, headers: t.auth });
  if (res.status !== 201) throw new Error(`model registration failed: ${res.status} ${await res.text()}`);
}

/** Long-polls a job until it is final. */
export async function waitForJob(api: string, t: Tenant, id: string, timeoutMs = 600_000): Promise<Record<string, any>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await request(`${api}/v1/jobs/${id}?wait=10`, { headers: t.auth });
    const j = JSON.parse(r.body);
    if (['completed', 'failed', 'cancelled'].includes(j.status)) return j;
    if (Date.now() > end) throw new Error(`job ${id} still ${j.status}`);
  }
}

const BENCH_SECRETS_KEY = randomBytes(32).toString('hex');

/** Environment shared by every process the bench starts. */
export function baseEnv(db: BenchDb, prefix: string): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    REDIS_URL: REDIS_URL,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
    // Production mode requires a key for webhook secrets at rest; one per bench run.
    SECRETS_KEY: BENCH_SECRETS_KEY,
    MODEL_CACHE_DIR: `/tmp/sluice-bench-models/${db.name}`,
    // The bench is one tenant firing thousands of requests: per-key limits would measure the limiter.
    RATE_LIMIT_PER_SECOND: '1000000',
    MAX_CONCURRENT_UPLOADS: '16',
    MAX_QUEUED_ROWS_PER_TENANT: '1000000000',
    // Metrics listeners on free loopback ports (several processes run at once; none may take a fixed port).
    METRICS_PORT: '0',
    WORKER_METRICS_PORT: '0',
    METRICS_HOST: '127.0.0.1',
    // Apis stopped between runs need no readiness drain (nothing polls them).
    SHUTDOWN_DRAIN_MS: '0',
  };
}
