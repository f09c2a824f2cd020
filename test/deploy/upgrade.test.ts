import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, inject, it, onTestFinished } from 'vitest';
import { readMigrations } from '../../src/db/migrate.js';
import { withDb } from '../globalSetup.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { killAll, startProcess, type Proc } from '../helpers/processes.js';
import { accounting, expectExactlyOnce, rowsCsv, slowClassifier } from '../reliability/harness.js';
import { installedRelease, previousRelease, releasesOf, ROOT, type Release } from './previousRelease.js';

// A rolling upgrade from the previous release (CHANGELOG.md) to this checkout, under load, as
// docs/deploy.md ("Upgrades") prescribes: the previous release's two apis and a worker serve a
// database its own migrations made; while CSV jobs (one a second) and single predictions (20 a
// second) keep arriving, this checkout's migrations are applied (the migrate Job), then the worker
// and then each api are replaced one at a time by this checkout's, each new process ready before
// the old one leaves. Requests go through a small balancer here (round robin over the apis in
// rotation; a 503 or a refused connection is retried on another api; an api leaves the rotation
// before it is sent SIGTERM, as an endpoint does before a pod's preStop ends). Afterwards: no request
// failed but with a retried 503 or refused connection, no job failed, every row scored exactly once.

const release: Release = previousRelease();
const JOB_ROWS = 300;
let old: { dir: string; installMs: number | null };
let env: TestEnv;
let key: string;

beforeAll(async () => {
  old = await installedRelease(release);
  console.info(`upgrade test: previous release ${release.version} (${release.commit.slice(0, 7)}) ${old.installMs === null ? 'reused from .cache/upgrade' : `extracted and installed (npm ci) in ${(old.installMs / 1000).toFixed(1)} s`}`);
  const run = inject('testRun');
  // An empty database (not the run's template): the previous release's own migrations make it.
  env = await createTestEnv({
    DATABASE_URL: withDb(run.adminUrl, `sluice_t_${run.runId}_upgrade_${randomBytes(3).toString('hex')}`),
    CHUNK_ROWS: '100',
    WORKER_CONCURRENCY: '2',
    INFERENCE_THREADS: '1',
    // The per-key limit on uploads in progress (4) is not what this test is about: while processes
    // start on a loaded 2-core machine, more than 4 of these small uploads can be open at once.
    MAX_CONCURRENT_UPLOADS: '64',
  });
  await script(old.dir, 'scripts/migrate.ts');
  key = (await script(old.dir, 'scripts/keys.ts', ['create', '--tenant', 'acme', '--scopes', 'admin'])).trim();
}, 600_000);

afterAll(async () => {
  await killAll();
  await env?.close();
});

/** Runs a script of the checkout at `root` to its end (as a Job would); its stdout. */
async function script(root: string, file: string, args: string[] = []): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, file), ...args], { cwd: root, env: { ...process.env, ...env.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const [code] = await once(child, 'close');
  if (code !== 0) throw new Error(`${file} (in ${root}) exited ${code}: ${err.slice(-2000)}`);
  return out;
}

async function api(root: string): Promise<Proc & { url: string }> {
  const p = startProcess('src/server.ts', { ...env.env, PORT: '0', HOST: '127.0.0.1' }, root);
  const { port } = await p.ready(90_000);
  return Object.assign(p, { url: `http://127.0.0.1:${port}` });
}

async function worker(root: string): Promise<Proc> {
  const p = startProcess('workers/predict.ts', env.env, root);
  await p.ready(90_000);
  return p;
}

/** What a load balancer does for these clients: round robin over the apis in rotation, retrying elsewhere. */
class Balancer {
  private rotation: string[] = [];
  private next = 0;
  private inFlight = new Map<string, number>();
  private drained = new Map<string, () => void>();
  retried = { status503: 0, refused: 0 };

  constructor(private auth: string) {}

  add(url: string) {
    this.rotation.push(url);
  }

  /** Out of the rotation; resolves once every request already sent to it has been answered. */
  async remove(url: string) {
    this.rotation = this.rotation.filter((u) => u !== url);
    if ((this.inFlight.get(url) ?? 0) > 0) await new Promise<void>((resolve) => this.drained.set(url, resolve));
  }

  async request(route: string, init: { method: string; body?: string; type?: string }): Promise<{ status: number; body: any }> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const url = this.rotation[this.next++ % this.rotation.length];
      this.inFlight.set(url, (this.inFlight.get(url) ?? 0) + 1);
      try {
        const res = await fetch(url + route, { method: init.method, body: init.body, headers: { authorization: this.auth, ...(init.type ? { 'content-type': init.type } : {}) } });
        const text = await res.text();
        if (res.status !== 503) return { status: res.status, body: text ? JSON.parse(text) : null };
        this.retried.status503++;
      } catch (err) {
        if ((err as { cause?: { code?: string } }).cause?.code !== 'ECONNREFUSED') throw err;
        this.retried.refused++;
      } finally {
        const left = this.inFlight.get(url)! - 1;
        this.inFlight.set(url, left);
        if (left === 0) this.drained.get(url)?.();
      }
      if (Date.now() > deadline) throw new Error(`${init.method} ${route}: no api answered other than 503 or refused for 30 s`);
      await sleep(25); // a retry's backoff, as a client or balancer would pause
    }
  }
}

/** Steady load: a single prediction every 50 ms and a CSV job every second, each through the balancer. */
function startLoad(lb: Balancer) {
  const failures: string[] = [];
  const jobs: string[] = [];
  let singles = 0;
  const pending = new Set<Promise<void>>();
  const waiters: { check: () => boolean; resolve: () => void }[] = [];
  const settle = () => {
    for (const w of [...waiters]) if (w.check()) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => (pending.delete(p), settle()));
  };
  const single = (n: number) =>
    lb.request('/v1/predictions', { method: 'POST', type: 'application/json', body: JSON.stringify({ model: 'm', wait: 20, inputs: [{ id: n, a: n % 7, b: 1, c: 2, d: n % 2 }] }) }).then(
      ({ status, body }) => {
        if (status === 200 && body.status === 'completed' && ['x', 'y', 'z'].includes(body.predictions?.[0]?.prediction)) singles++;
        // 202: `wait` ran out, which for one row means the api missed the worker's wake-up message
        // (one release writing a message the other does not read).
        else failures.push(`single prediction ${n}: ${status} ${JSON.stringify(body)}`);
      },
      (err: Error) => void failures.push(`single prediction ${n}: ${err.message} ${String((err as { cause?: unknown }).cause ?? '')}`),
    );
  const csv = (n: number) =>
    lb.request('/v1/jobs?model=m', { method: 'POST', type: 'text/csv', body: rowsCsv(JOB_ROWS) }).then(
      ({ status, body }) => {
        if (status === 202 && typeof body.id === 'string') jobs.push(body.id);
        else failures.push(`CSV job ${n}: ${status} ${JSON.stringify(body)}`);
      },
      (err: Error) => void failures.push(`CSV job ${n}: ${err.message} ${String((err as { cause?: unknown }).cause ?? '')}`),
    );
  let s = 0;
  let j = 0;
  const singleTimer = setInterval(() => track(single(++s)), 50);
  const csvTimer = setInterval(() => track(csv(++j)), 1000);
  track(csv(++j));
  return {
    failures,
    jobs,
    /** Resolves once at least `more` single predictions and `moreJobs` CSV jobs have succeeded from now on. */
    progress(more = 20, moreJobs = 2) {
      const [s0, j0] = [singles, jobs.length];
      const check = () => singles >= s0 + more && jobs.length >= j0 + moreJobs;
      return check() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ check, resolve }));
    },
    async stop() {
      clearInterval(singleTimer);
      clearInterval(csvTimer);
      await Promise.all([...pending]);
      return { singles, sent: { singles: s, jobs: j } };
    },
  };
}

const latestOf = async (dir?: string) => (await readMigrations(dir)).at(-1)?.version ?? 0;

it('CHANGELOG.md names each release\'s commit, and the release upgraded from is not the commit under test', () => {
  const releases = releasesOf(readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8'));
  expect(releases.map((r) => r.version)).toContain('0.1.0');
  expect(releases.find((r) => r.version === '0.1.0')?.commit).toBe('dfd70083ff37194a38cff252e2f1c55822b142ec');
  expect(releases).toContainEqual(release);
  expect(release.commit).not.toBe(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim());
});

it('a rolling upgrade from the previous release under load: migrate, then the worker, then each api; nothing fails, every row once', async () => {
  const t0 = Date.now();
  const phases: string[] = [];
  const mark = (what: string) => phases.push(`${((Date.now() - t0) / 1000).toFixed(1)} s ${what}`);
  onTestFinished(() => console.info(`upgrade test phases:\n  ${phases.join('\n  ')}`));
  const [oldWorker, ...oldApis] = await Promise.all([worker(old.dir), api(old.dir), api(old.dir)]);
  mark(`previous release up: 2 apis, 1 worker`);
  const m = slowClassifier(32);
  const reg = await client(oldApis[0].url, key).registerModel('m', m.onnx, m.signature);
  expect(reg.status, await reg.clone().text()).toBe(201);

  const lb = new Balancer(`Bearer ${key}`);
  for (const a of oldApis) lb.add(a.url);
  const load = startLoad(lb);
  await load.progress();
  mark('load on the previous release');

  // 1. The migrate Job (scripts/migrate.ts, this checkout's migrations) while the previous release serves.
  await script(ROOT, 'scripts/migrate.ts');
  mark('migrated to this checkout\'s schema');
  // The previous release stays ready on the newer schema if it tolerates one (expand/contract, from
  // 0.1.1 on) or if nothing was added; 0.1.0 refuses any newer schema, so it goes unready (it still
  // serves what it is sent: that is the gap expand/contract closes).
  const newer = (await latestOf()) > (await latestOf(path.join(old.dir, 'migrations/')));
  const tolerant = readFileSync(path.join(old.dir, 'src/db/migrate.ts'), 'utf8').includes('contract: requires');
  for (const a of oldApis) {
    const res = await fetch(`${a.url}/readyz`);
    const body = (await res.json()) as { checks: { postgres: string } };
    if (!newer || tolerant) expect(res.status, JSON.stringify(body)).toBe(200);
    else expect([res.status, body.checks.postgres]).toEqual([503, expect.stringMatching(/newer than this build/)]);
  }
  await load.progress();

  // This checkout's processes start now, together (three process starts in the time of one): the
  // apis stay out of the rotation until their turn, so until then they serve nothing.
  const [newWorker, ...newApis] = await Promise.all([worker(ROOT), api(ROOT), api(ROOT)]);
  mark('this checkout\'s worker and 2 apis ready, the apis not in rotation');

  // 2. Workers: the new one takes work before the old one finishes what it holds and leaves.
  expect(await oldWorker.stop('SIGTERM')).toBe(0);
  mark('worker replaced');
  await load.progress();

  // 3. Apis, one at a time: the new one in rotation before the old one is taken out and stopped.
  for (const [i, a] of oldApis.entries()) {
    const b = newApis[i];
    expect((await fetch(`${b.url}/readyz`)).status).toBe(200);
    lb.add(b.url);
    await lb.remove(a.url);
    mark('old api out of rotation, its requests answered');
    expect(await a.stop('SIGTERM')).toBe(0);
    mark('an api replaced');
    await load.progress();
  }
  const { singles, sent } = await load.stop();
  mark('load stopped');

  expect(load.failures).toEqual([]);
  const c = client(newApis[0].url, key);
  for (const id of load.jobs) {
    const job = await c.waitForJob(id, 60_000);
    expect(job.status, JSON.stringify(job)).toBe('completed');
    expectExactlyOnce(await accounting(env.pool, id), JOB_ROWS, { errors: 0 });
  }
  // Every job in the database, the single predictions' included, ended completed.
  const { rows } = await env.pool.query<{ status: string }>('SELECT DISTINCT status FROM jobs');
  expect(rows).toEqual([{ status: 'completed' }]);
  expect(singles).toBe(sent.singles);
  expect(load.jobs.length).toBe(sent.jobs);
  mark('every job completed, every row once');
  console.info(
    `upgrade test: ${release.version} → this checkout: ${sent.singles} single predictions, ${sent.jobs} CSV jobs of ${JOB_ROWS} rows; ` +
      `retried: ${lb.retried.status503} × 503, ${lb.retried.refused} × refused`,
  );
  await Promise.all([newWorker.stop(), ...newApis.map((b) => b.stop())]);
}, 300_000);
