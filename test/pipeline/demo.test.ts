import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { freePort } from '../helpers/processes.js';

// The README's run command, as a user runs it: it must train, register, score and check.
let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.close());

it('npm run demo -- --exit scores the held-out rows and serves what training measured', async () => {
  const root = path.resolve(import.meta.dirname, '../..');
  const { stdout } = await promisify(execFile)(path.join(root, 'node_modules/.bin/tsx'), ['scripts/demo.ts', '--exit'], {
    cwd: root,
    env: { ...process.env, ...env.env, PORT: String(await freePort()) },
    timeout: 90_000,
  });
  expect(stdout).toMatch(/penguins: 68 rows scored, 0 failed/);
  expect(stdout).toMatch(/cars: 78 rows scored, 0 failed/);
  const [, served, trained] = /RMSE (\d+\.\d+) served vs (\d+\.\d+) at training/.exec(stdout)!;
  expect(Number(served)).toBeCloseTo(Number(trained), 2);
  expect(stdout).toMatch(/accuracy 100\.0 % served vs 100\.0 % at training/);
  expect(stdout).toMatch(/"prediction":"\w+","probabilities"/);
  const { rows } = await env.pool.query(`SELECT count(*)::int AS n FROM jobs WHERE status = 'completed'`);
  expect(rows[0].n).toBe(3);
}, 120_000);
