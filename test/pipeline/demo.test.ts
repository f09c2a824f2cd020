import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { trainDemoModels } from '../../scripts/train/demoModels.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { freePort } from '../helpers/processes.js';

// The README's run command, as a user runs it: it must train, register, score and check, write
// the files the README's commands use, and stop everything it started when asked to.
const root = path.resolve(import.meta.dirname, '../..');
let env: TestEnv;
let demoDir: string;
beforeAll(async () => {
  env = await createTestEnv();
  demoDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-demo-files-'));
});
afterAll(async () => {
  await env?.close();
  rmSync(demoDir, { recursive: true, force: true });
});

const demo = (vars: Record<string, string>) =>
  promisify(execFile)(path.join(root, 'node_modules/.bin/tsx'), ['scripts/demo.ts', '--exit'], { cwd: root, env: { ...process.env, ...vars, SLUICE_DEMO_DIR: demoDir }, timeout: 150_000 });

it('npm run demo -- --exit scores the held-out rows, serves what training measured, writes the README files and stops', async () => {
  const { stdout } = await demo({ ...env.env, PORT: String(await freePort()) });
  expect(stdout).toMatch(/penguins: 68 rows scored, 0 failed/);
  expect(stdout).toMatch(/cars: 78 rows scored, 0 failed/);
  const [, served, trained] = /RMSE (\d+\.\d+) served vs (\d+\.\d+) at training/.exec(stdout)!;
  expect(Number(served)).toBeCloseTo(Number(trained), 2);
  expect(stdout).toMatch(/accuracy 100\.0 % served vs 100\.0 % at training; macro F1 1\.000; log loss \d\.\d{3}/);
  // The served figures are Sluice's own evaluation jobs', recorded on both model versions.
  const recorded = await env.pool.query(`SELECT m.name, e.rows::int FROM model_evaluations e JOIN model_versions mv ON mv.id = e.model_version_id JOIN models m ON m.id = mv.model_id ORDER BY m.name`);
  expect(recorded.rows).toEqual([{ name: 'cars', rows: 78 }, { name: 'penguins', rows: 68 }]);
  expect(stdout).toMatch(/"prediction":"\w+","probabilities"/);
  // The penguins job's callback_url went to the demo's own receiver, delivered once, not retried for a day.
  expect(stdout).toMatch(/webhook: job\.completed delivered to the demo's receiver http:\/\/127\.0\.0\.1:\d+\/hook/);
  // --exit: nothing claims to be running after it stopped.
  expect(stdout).not.toMatch(/Sluice is running/);
  expect(stdout).toMatch(/Stopped \(--exit\)/);
  const { rows } = await env.pool.query(`SELECT count(*)::int AS n FROM jobs WHERE status = 'completed'`);
  expect(rows[0].n).toBe(3);

  for (const f of ['penguins.onnx', 'penguins.signature.json', 'penguins.csv', 'penguins-eu.csv', 'penguins-with-errors.csv', 'penguins-beak.onnx', 'penguins-beak.signature.json', 'cars.onnx', 'cars.signature.json', 'cars.csv', 'env.sh']) {
    expect(existsSync(path.join(demoDir, f)), f).toBe(true);
  }
  const { penguins } = trainDemoModels();
  const signatureFile = readFileSync(path.join(demoDir, 'penguins.signature.json'), 'utf8');
  expect(JSON.parse(signatureFile)).toEqual(penguins.signature);
  expect(readFileSync(path.join(demoDir, 'env.sh'), 'utf8')).toMatch(/export SLUICE_URL='http:\/\/localhost:\d+'\nexport DATABASE_URL='.+'\nexport REDIS_URL='.+'\nexport HOOK_URL='http:\/\/127\.0\.0\.1:\d+\/hook'/);
}, 180_000);

it("the README's signature (mean, std) is the one the demo trains and writes", () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const block = /`cat \.demo\/penguins\.signature\.json` shows[\s\S]*?```json\n([\s\S]*?)```/.exec(readme);
  expect(block, 'the README shows .demo/penguins.signature.json').not.toBeNull();
  expect(block![1]).toBe(JSON.stringify(trainDemoModels().penguins.signature, null, 2) + '\n');
  // Every file the README's commands read is one the demo writes.
  for (const [, f] of readme.matchAll(/\.demo\/([\w.-]+)/g)) expect(['penguins.onnx', 'penguins.signature.json', 'penguins.csv', 'penguins-eu.csv', 'penguins-with-errors.csv', 'cars.onnx', 'cars.signature.json', 'cars.csv', 'env.sh'], f).toContain(f);
});

it('with Postgres and Redis not answering, the demo runs throwaway ones from the installed binaries and stops them', async () => {
  const [pgPort, redisPort] = [await freePort(), await freePort()]; // nothing listens there
  const { stdout } = await demo({ DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/sluice`, REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_PREFIX: 'sluice', PORT: String(await freePort()), LOG_LEVEL: 'warn' });
  const started = [...stdout.matchAll(/started a throwaway (Postgres|Redis)[^\n]* on 127\.0\.0\.1:(\d+) \(data in (\S+)\)/g)];
  expect(started.map((m) => m[1])).toEqual(['Postgres', 'Redis']);
  expect(stdout).toMatch(/penguins: 68 rows scored, 0 failed/);
  expect(stdout).toMatch(/Stopped \(--exit\): .* and the throwaway Postgres and Redis/);
  // Stopped and deleted with the demo.
  for (const [, , , dir] of started) expect(existsSync(dir), dir).toBe(false);
}, 180_000);
