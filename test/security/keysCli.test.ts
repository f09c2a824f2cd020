import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTenantId } from '../../src/db/findTenantId.js';
import { listKeys } from '../../src/db/listKeys.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

// `npm run keys`: safe defaults (no admin unless asked for), help that helps, errors on one line.
const root = path.resolve(import.meta.dirname, '../..');
let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv({ MAX_KEYS_PER_TENANT: '2' });
});
afterAll(async () => {
  await env?.close();
});

function keys(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', ...args], { cwd: root, env: { ...process.env, ...env.env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const oneLine = (s: string) => {
  expect(s.trim().split('\n')).toHaveLength(1);
  expect(s).not.toMatch(/\n\s+at /); // no stack trace
};

describe('npm run keys', () => {
  it('--help, -h, help and create --help print the usage (naming --scopes and the default) and exit 0', async () => {
    for (const args of [['--help'], ['-h'], ['help'], ['create', '--help']]) {
      const r = await keys(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/usage: npm run keys/);
      expect(r.stdout).toMatch(/--scopes/);
      expect(r.stdout).toMatch(/jobs:write,jobs:read,models:read/);
    }
  });

  it('create without --scopes gives jobs:write, jobs:read, models:read — never admin; --scopes is taken as given', async () => {
    const plain = await keys('create', '--tenant', 'cli-co');
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^sluice_sk_\w+$/);
    const admin = await keys('create', '--tenant', 'cli-co', '--scopes', 'admin', '--name', 'ops');
    expect(admin.code, admin.stderr).toBe(0);
    const listed = await listKeys(env.pool, (await findTenantId(env.pool, 'cli-co'))!);
    expect(listed.map((k) => [...k.scopes].sort())).toEqual([['jobs:read', 'jobs:write', 'models:read'], ['admin']]);
  });

  it('errors print one line and exit non-zero: unknown option, unknown command, bad scope, missing flag, the key cap', async () => {
    for (const args of [['--bogus'], ['frobnicate'], [], ['create', '--tenant', 'x', '--scopes', 'root'], ['create'], ['revoke', '--id', 'nope']]) {
      const r = await keys(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stdout).toBe('');
      oneLine(r.stderr);
    }
    // cli-co has 2 keys already: MAX_KEYS_PER_TENANT=2.
    const capped = await keys('create', '--tenant', 'cli-co');
    expect(capped.code).not.toBe(0);
    expect(capped.stdout).toBe('');
    oneLine(capped.stderr);
    expect(capped.stderr).toMatch(/MAX_KEYS_PER_TENANT/);
  });
});
