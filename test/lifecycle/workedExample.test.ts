import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { trainDemoModels, writeDemoFiles } from '../../scripts/train/demoModels.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { killAll, startApi, startWorker, type Proc } from '../helpers/processes.js';

// docs/lifecycle.md's worked example, run as a reader runs it: its shell block, in a folder holding
// the demo's files and env.sh, against real api and worker processes. What it prints is what the
// document's comments say.
const root = path.resolve(import.meta.dirname, '../..');
let env: TestEnv;
let api: Proc & { url: string };
let dir: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startApi(env.env);
  await startWorker(env.env);
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-lifecycle-'));
  // The project's files the commands use (npm run keys), as in a checkout.
  for (const f of ['package.json', 'node_modules', 'scripts', 'src', 'migrations', 'tsconfig.json']) symlinkSync(path.join(root, f), path.join(dir, f));
  mkdirSync(path.join(dir, '.demo'));
  writeDemoFiles(trainDemoModels(), path.join(dir, '.demo'));
  const vars = { SLUICE_URL: api.url, DATABASE_URL: env.env.DATABASE_URL, REDIS_URL: env.env.REDIS_URL, HOOK_URL: 'http://127.0.0.1:9/hook' };
  writeFileSync(path.join(dir, '.demo/env.sh'), Object.entries(vars).map(([k, v]) => `export ${k}='${v}'\n`).join(''));
}, 120_000);
afterAll(async () => {
  await killAll();
  await env?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function workedExample(): string {
  const doc = readFileSync(path.join(root, 'docs/lifecycle.md'), 'utf8');
  const block = /## Worked example[\s\S]*?```sh\n([\s\S]*?)```/.exec(doc);
  expect(block, 'docs/lifecycle.md has a worked example in a sh block').not.toBeNull();
  return block![1];
}

it('runs as written and prints what the document says', async () => {
  const run = promisify(execFile)('bash', ['-euo', 'pipefail', '-c', workedExample()], { cwd: dir, env: { ...process.env, SECRETS_KEY: env.env.SECRETS_KEY }, timeout: 240_000, maxBuffer: 10 * 1024 * 1024 });
  // A failing command's output so far says where the document and the product part ways.
  const { stdout } = await run.catch((err: { stdout?: string; stderr?: string }) => expect.fail(`the worked example failed:\n${err.stdout}\n${err.stderr?.slice(-3000)}`));

  const lines = stdout.trim().split('\n');
  expect(lines.slice(0, 3)).toEqual(['v1: Beak Length (mm), Beak Depth (mm), Flipper Length (mm), Body Mass (g)', 'v2: Beak Length (mm), Beak Depth (mm)', 'production → v1']);
  expect(stdout).toMatch(/^v1: accuracy 1\.000, macro F1 1\.000/m);
  expect(stdout).toMatch(/^v2: accuracy 0\.941/m);
  expect(stdout).toMatch(/^agree on 94\.1 % of 68 rows/m);
  expect(stdout).toMatch(/^v1 90 \/ v2 10$/m);
  const [, v1, v2] = /\s+(\d+) v1\n\s+(\d+) v2/.exec(stdout) ?? [];
  expect(Number(v1) + Number(v2)).toBe(200);
  expect(Number(v2)).toBeGreaterThan(0);
  expect(new Set(stdout.match(/customer-42 → v\d/g))).toHaveProperty('size', 1);
  expect(stdout).toMatch(/^409 promotion_guard_failed$/m);
  expect(stdout).toMatch(/^production → v2$/m);
  expect(stdout.match(/^v1 90 \/ v2 10$/gm)).toHaveLength(2); // set, then restored by the rollback
  expect(stdout).toMatch(/^rollback: /m);
}, 300_000);
