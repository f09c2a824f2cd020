import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { trainDemoModels } from '../../scripts/train/demoModels.js';
import { createKey } from '../../src/auth/tenants.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

// The api and the worker run as the image runs them (Dockerfile): an unprivileged user over an
// application folder it cannot write, the one writable place being an absolute MODEL_CACHE_DIR.
// Before the fix the worker wrote its model cache under the relative `.cache/models` of the
// read-only checkout: every job failed with model_load_failed while the worker looked ready.
// As root the processes run as uid/gid 65534 (setpriv); as another user they already are unprivileged.

const ROOT = path.resolve(import.meta.dirname, '../..');
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
let env: TestEnv;
let tmp: string;
let app: string;
const procs: ChildProcess[] = [];

/** A folder the unprivileged user owns (as root: chowned to 65534). */
function writable(name: string): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  if (asRoot) chownSync(dir, NOBODY, NOBODY);
  return dir;
}

beforeAll(async () => {
  env = await createTestEnv();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sluice-unprivileged-'));
  chmodSync(tmp, 0o755);
  // The checkout as the image holds it: what the Dockerfile copies, node_modules beside it, nothing writable.
  app = path.join(tmp, 'app');
  mkdirSync(app);
  const copied = ['package.json', 'tsconfig.json', 'src', 'workers', 'scripts', 'migrations'];
  for (const f of copied) cpSync(path.join(ROOT, f), path.join(app, f), { recursive: true });
  execFileSync('chmod', ['-R', 'a-w', ...copied.map((f) => path.join(app, f))]);
  // Linked after the recursive chmod, which must not reach the real node_modules.
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'));
  chmodSync(app, 0o555);
}, 60_000);

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await env?.close();
  if (tmp) {
    execFileSync('find', [tmp, '-type', 'd', '-exec', 'chmod', 'u+w', '{}', '+']); // find does not follow the node_modules link
    rmSync(tmp, { recursive: true, force: true });
  }
});

interface Unprivileged {
  logs: Record<string, unknown>[];
  ready: Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** One of our entry points, run from the read-only copy as the unprivileged user; readiness is its IPC message. */
function runUnprivileged(script: string, extra: Record<string, string>): Unprivileged {
  const home = writable('home');
  const tmpdir = writable('tmp'); // tsx keeps its compile cache under the temporary directory
  const vars = { ...env.env, LOG_LEVEL: 'info', HOME: home, TMPDIR: tmpdir, ...extra };
  const command = [...(asRoot ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'] : []), 'env', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), process.execPath, '--import', 'tsx', script];
  const child = spawn(command[0], command.slice(1), { cwd: app, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  procs.push(child);
  const logs: Record<string, unknown>[] = [];
  const onLine = (line: string) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      logs.push({ msg: line });
    }
  };
  readline.createInterface({ input: child.stdout! }).on('line', onLine);
  readline.createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.on('message', (m: Record<string, unknown>) => m?.ready && resolve(m));
    void exited.then((code) => reject(new Error(`${script} exited (${code}) before it was ready:\n${logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`)));
  });
  ready.catch(() => {});
  return {
    logs,
    ready,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

it('as an unprivileged user over a read-only checkout, with an absolute writable MODEL_CACHE_DIR, api and worker score a job', async () => {
  const cache = path.join(writable('cache'), 'models'); // created by the worker itself
  const api = runUnprivileged('src/server.ts', { PORT: '0', HOST: '127.0.0.1' });
  const worker = runUnprivileged('workers/predict.ts', { MODEL_CACHE_DIR: cache });
  try {
    const { port } = await api.ready;
    await worker.ready;
    const base = `http://127.0.0.1:${port}`;
    const { key } = await createKey(env.pool, 'unprivileged', ['models:write', 'models:read', 'jobs:write', 'jobs:read']);
    const auth = { authorization: `Bearer ${key}` };
    const { penguins } = trainDemoModels();
    const form = new FormData();
    form.set('signature', JSON.stringify(penguins.signature));
    form.set('model', new Blob([Buffer.from(penguins.onnx)]), 'penguins.onnx');
    const reg = await fetch(`${base}/v1/models/penguins/versions`, { method: 'POST', body: form, headers: auth });
    expect(reg.status, await reg.clone().text()).toBe(201);

    const sub = await fetch(`${base}/v1/jobs?model=penguins`, { method: 'POST', body: penguins.holdoutCsv, headers: { ...auth, 'content-type': 'text/csv' } });
    expect(sub.status).toBe(202);
    let job = await sub.json();
    for (let i = 0; i < 10 && !['completed', 'failed', 'cancelled'].includes(job.status); i++) job = await (await fetch(`${base}/v1/jobs/${job.id}?wait=10`, { headers: auth })).json();
    expect(job.status, JSON.stringify(job.error ?? job.errors)).toBe('completed');
    expect(job.rows).toMatchObject({ total: 68, succeeded: 68, failed: 0 });
    const csv = await (await fetch(`${base}/v1/jobs/${job.id}/results`, { headers: auth })).text();
    expect(csv.trim().split('\n')).toHaveLength(69);
    // The model file landed in the configured cache, owned by the unprivileged user.
    const files = execFileSync('ls', ['-n', cache]).toString();
    expect(files).toMatch(/\.onnx/);
    if (asRoot) expect(files).toMatch(new RegExp(`\\s${NOBODY}\\s+${NOBODY}\\s.*\\.onnx`));
  } finally {
    await Promise.all([api.stop(), worker.stop()]);
  }
}, 120_000);

it.each([
  ['the default relative .cache/models inside the read-only checkout', () => '.cache/models'],
  ['a directory the user may not write', () => {
    const dir = path.join(tmp, 'not-writable');
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o555); // root-owned (or ours, made read-only): nobody else writes here
    return path.join(dir, 'models');
  }],
])('a worker whose MODEL_CACHE_DIR is %s refuses to start and says why', async (_, cacheDir) => {
  const worker = runUnprivileged('workers/predict.ts', { MODEL_CACHE_DIR: cacheDir() });
  await expect(worker.ready).rejects.toThrow(/exited \(1\) before it was ready/);
  expect(await worker.exited).toBe(1);
  const line = worker.logs.find((l) => l.level === 50 && /MODEL_CACHE_DIR is not writable/.test(String(l.msg)));
  expect(line, JSON.stringify(worker.logs)).toBeDefined();
  expect(line).toMatchObject({ setting: 'MODEL_CACHE_DIR', code: expect.stringMatching(/^(EACCES|EPERM|EROFS)$/) });
  // The reason and the setting, not a stack trace.
  expect(JSON.stringify(worker.logs)).not.toMatch(/\n\s+at /);
}, 60_000);
