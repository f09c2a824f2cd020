import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { freePort, killAll, startApi, startWorker, type Proc } from '../helpers/processes.js';
import { readCsv } from '../pipeline/helpers.js';
import { runCli, show } from './run.js';

// The `sluice` CLI as a subprocess against a real api and a real worker (each its own process), as
// a user runs it: plain output when not on a terminal (never an escape code), --json that parses,
// and the exit codes a script branches on.

let env: TestEnv;
let api: Proc & { url: string };
let worker: Proc;
let key: string;
let dir: string;
const ESC = '\u001b';
const W = [0.5, -1, 2, 0.25];
const B = 3;
const SIG = { columns: ['a', 'b', 'c', 'd'], task: 'regression', passthrough: ['id'] };
const row = (i: number) => ({ id: `r${i}`, a: i % 7, b: i % 5, c: (i % 11) / 10, d: i % 3 });
const expected = (i: number) => {
  const r = row(i);
  return W[0] * r.a + W[1] * r.b + W[2] * r.c + W[3] * r.d + B;
};

/** The environment a user of the CLI has: the server and key in SLUICE_*, a home of its own. */
const userEnv = (extra: Record<string, string | undefined> = {}) => ({ HOME: dir, SLUICE_CONFIG: path.join(dir, 'config.json'), SLUICE_URL: api.url, SLUICE_API_KEY: key, ...extra });
const sluice = (args: string[], extra: Record<string, string | undefined> = {}, input?: string) => runCli(args, userEnv(extra), input);
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sluice-cli-'));
  env = await createTestEnv({ CHUNK_ROWS: '20000', CHUNK_ATTEMPTS: '1' });
  [api, worker] = await Promise.all([startApi(env.env), startWorker(env.env, { INFERENCE_THREADS: '1', WORKER_CONCURRENCY: '2' })]);
  key = (await createKey(env.pool, 'acme')).key; // every scope, admin included
  writeFileSync(path.join(dir, 'lin.onnx'), linearRegression(W, B));
  file('lin.signature.json', JSON.stringify(SIG));
  const push = await sluice(['models', 'push', path.join(dir, 'lin.onnx'), '--name', 'lin', '--signature', path.join(dir, 'lin.signature.json'), '--alias', 'production']);
  expect(push.code, show(['models push'], push)).toBe(0);
  expect(push.stdout).toMatch(/Registered lin version 1/);
  expect(push.stdout).toMatch(/lin@production → version 1/);
});
afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop()]);
  await killAll();
  await env?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sluice submit', () => {
  it('a 200,000-row CSV with --wait --out: every row in order in the output file, plain lines without escape codes', async () => {
    const n = 200_000;
    let csv = 'id,a,b,c,d\n';
    for (let i = 1; i <= n; i++) {
      const r = row(i);
      csv += `${r.id},${r.a},${r.b},${r.c},${r.d}\n`;
    }
    const input = file('big.csv', csv);
    const out = path.join(dir, 'big.results.csv');
    const args = ['submit', input, '--model', 'lin@production', '--wait', '--out', out];
    const r = await sluice(args);
    expect(r.code, show(args, r)).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(ESC);
    // The three phases end with a plain line each; the summary is the result on stdout.
    expect(r.stderr).toMatch(/^upload: 100% .* \/ .*MB/m);
    expect(r.stderr).toMatch(/^scoring: 100% 200,000 \/ 200,000 rows, .* rows\/s, 0 failed/m);
    expect(r.stderr).toMatch(/^download: 100% 200,000 \/ 200,000 rows/m);
    expect(r.stdout).toMatch(/^Job [0-9a-f-]{36} completed in \S+: 200,000 of 200,000 rows scored, 0 failed \([\d,]+ rows\/s\) → .*big\.results\.csv \([\d.]+ MB\)$/m);

    const got = readCsv(readFileSync(out, 'utf8'));
    expect(got).toHaveLength(n);
    let outOfOrder = 0;
    for (let i = 0; i < n; i++) if (got[i].row !== String(i + 1) || got[i].id !== `r${i + 1}` || got[i].error !== '') outOfOrder++;
    expect(outOfOrder).toBe(0);
    for (const i of [1, 2, 77, 20_000, 20_001, 123_457, n]) expect(Number(got[i - 1].prediction)).toBeCloseTo(expected(i), 4);
  });

  it('--json prints the finished job as JSON and nothing else on stdout', async () => {
    const input = file('small.csv', 'id,a,b,c,d\nx1,1,2,3,4\nx2,5,6,7,8\n');
    const args = ['submit', input, '--model', 'lin', '--wait', '--json'];
    const r = await sluice(args);
    expect(r.code, show(args, r)).toBe(0);
    const job = JSON.parse(r.stdout);
    expect(job).toMatchObject({ object: 'job', status: 'completed', model: { name: 'lin', version: 1 }, rows: { total: 2, succeeded: 2, failed: 0 } });
    expect(r.stderr).toBe('');

    // Without --wait: the job id alone on stdout, for JOB=$(sluice submit …)
    const bare = await sluice(['submit', input, '--model', 'lin']);
    expect(bare.code, show(['submit'], bare)).toBe(0);
    const id = bare.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const waited = await sluice(['jobs', 'wait', id, '--json']);
    expect(waited.code, show(['jobs wait'], waited)).toBe(0);
    expect(JSON.parse(waited.stdout)).toMatchObject({ id, status: 'completed' });
    const shown = await sluice(['jobs', 'show', id, '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id, rows: { succeeded: 2 } });
    const listed = await sluice(['jobs', 'ls', '--json', '--model', 'lin', '--limit', '3']);
    const jobs = JSON.parse(listed.stdout) as { id: string }[];
    expect(jobs).toHaveLength(3);
    expect(jobs[0].id).toBe(id); // newest first
    const rows = await sluice(['jobs', 'results', id, '--format', 'ndjson']);
    expect(rows.stdout.trim().split('\n').map((l) => JSON.parse(l))).toMatchObject([
      { row: 1, passthrough: { id: 'x1' }, error: null },
      { row: 2, passthrough: { id: 'x2' }, error: null },
    ]);
    expect(Number(JSON.parse(rows.stdout.split('\n')[0]).prediction)).toBeCloseTo(W[0] * 1 + W[1] * 2 + W[2] * 3 + W[3] * 4 + B, 4);
  });

  it('on a terminal (a pseudo-TTY made by script(1)): the three bars, drawn with escape codes, end full', async () => {
    const input = path.join(dir, 'small.csv');
    const out = path.join(dir, 'tty.results.csv');
    const cmd = `${process.execPath} ${path.resolve(import.meta.dirname, '../../bin/sluice.js')} submit ${input} --model lin --wait --out ${out}`;
    const r = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
      const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { env: { PATH: process.env.PATH!, TERM: 'xterm', ...userEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, text }));
    });
    expect(r.code, r.text).toBe(0);
    expect(r.text).toContain(ESC); // bars redraw in place
    const plain = r.text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    expect(plain).toMatch(/upload +█+ 100% \| [\d.]+ B \/ [\d.]+ B/);
    expect(plain).toMatch(/scoring +█+ 100% \| 2 \/ 2 rows \| .* \| 0 failed/);
    expect(plain).toMatch(/download +█+ 100% \| 2 \/ 2 rows/);
    expect(plain).toMatch(/completed in \S+: 2 of 2 rows scored, 0 failed/);
    expect(readCsv(readFileSync(out, 'utf8')).map((x) => x.id)).toEqual(['x1', 'x2']);
  });

  it('a .csv.gz is sent gzip-encoded and a .jsonl as JSON Lines: the same predictions as the CSV', async () => {
    const records = Array.from({ length: 50 }, (_, k) => row(k + 1));
    const csv = 'id,a,b,c,d\n' + records.map((r) => `${r.id},${r.a},${r.b},${r.c},${r.d}`).join('\n') + '\n';
    const inputs = [file('same.csv', csv), path.join(dir, 'same.csv.gz'), file('same.jsonl', records.map((r) => JSON.stringify(r)).join('\n') + '\n')];
    writeFileSync(inputs[1], gzipSync(csv));
    const outputs = [];
    for (const input of inputs) {
      const out = `${input}.ndjson`;
      const r = await sluice(['submit', input, '--model', 'lin', '--wait', '--out', out]);
      expect(r.code, show(['submit', input], r)).toBe(0);
      outputs.push(readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l)));
    }
    expect(outputs[0]).toHaveLength(50);
    expect(outputs[0].map((o) => o.passthrough.id)).toEqual(records.map((r) => r.id));
    expect(outputs[0].map((o, k) => Math.abs(o.prediction - expected(k + 1)) < 1e-4)).toEqual(records.map(() => true));
    expect(outputs[1]).toEqual(outputs[0]);
    expect(outputs[2]).toEqual(outputs[0]);
  });

  it('a job whose every row fails exits 1 and says why', async () => {
    const input = file('bad.csv', 'id,a,b,c,d\n' + Array.from({ length: 20 }, (_, i) => `b${i},abc,1,2,3`).join('\n') + '\n');
    const args = ['submit', input, '--model', 'lin', '--wait'];
    const r = await sluice(args);
    expect(r.code, show(args, r)).toBe(1);
    expect(r.stdout).toMatch(/ failed in \S+: 0 of 20 rows scored, 20 failed/);
    expect(r.stdout).toMatch(/^  20 × \w+: column "a"/m); // the error summary: count, code, message
    expect(r.stdout).toMatch(/failed: all_rows_failed/);
    expect(r.stdout + r.stderr).not.toContain(ESC);
  });

  it('--max-error-rate: rows failed past it exit 1, at or under it exit 0', async () => {
    const lines = Array.from({ length: 100 }, (_, i) => (i % 10 === 0 ? `e${i},oops,1,2,3` : `g${i},1,2,3,4`));
    const input = file('some-bad.csv', 'id,a,b,c,d\n' + lines.join('\n') + '\n');
    const past = await sluice(['submit', input, '--model', 'lin', '--wait', '--max-error-rate', '0.05']);
    expect(past.code, show(['submit --max-error-rate 0.05'], past)).toBe(1);
    const under = await sluice(['submit', input, '--model', 'lin', '--wait', '--max-error-rate', '0.2']);
    expect(under.code, show(['submit --max-error-rate 0.2'], under)).toBe(0);
    expect(under.stdout).toMatch(/completed in \S+: 90 of 100 rows scored, 10 failed/);
    expect(under.stdout).toMatch(/10 × /);
  });
});

describe('exit codes', () => {
  it('2 for usage: unknown command, missing option, unreadable file, bad option value', async () => {
    for (const args of [['frobnicate'], ['submit', path.join(dir, 'small.csv')], ['submit', path.join(dir, 'nope.csv'), '--model', 'lin'], ['submit', path.join(dir, 'small.csv'), '--model', 'lin', '--max-error-rate', '7']]) {
      const r = await sluice(args);
      expect(r.code, show(args, r)).toBe(2);
      expect(r.stderr).not.toBe('');
    }
  });

  it('3 for a key the server refuses, or none at all', async () => {
    const bad = await sluice(['models', 'ls'], { SLUICE_API_KEY: 'sk_live_this_is_not_a_key' });
    expect(bad.code, show(['models ls (bad key)'], bad)).toBe(3);
    expect(bad.stderr).toMatch(/unauthorized, HTTP 401/);
    const none = await sluice(['jobs', 'ls'], { SLUICE_API_KEY: undefined });
    expect(none.code, show(['jobs ls (no key)'], none)).toBe(3);
    expect(none.stderr).toMatch(/sluice login/);
  });

  it('4 when no server answers, with --json an error document', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await sluice(['jobs', 'ls', '--json'], { SLUICE_URL: url });
    expect(r.code, show(['jobs ls (nobody there)'], r)).toBe(4);
    expect(r.stderr).toContain(`Cannot reach Sluice at ${url}`);
    expect(JSON.parse(r.stdout).error.message).toContain('ECONNREFUSED');
  });

  it('1 when the server refuses the request, with the problem code', async () => {
    const r = await sluice(['models', 'show', 'no-such-model']);
    expect(r.code, show(['models show'], r)).toBe(1);
    expect(r.stderr).toMatch(/model_not_found, HTTP 404/);
  });
});

describe('sluice login', () => {
  it('saves the URL and key with mode 0600 (XDG_CONFIG_HOME respected); SLUICE_API_KEY and SLUICE_URL win over the file', async () => {
    const xdg = path.join(dir, 'xdg');
    const base = { HOME: dir, XDG_CONFIG_HOME: xdg, SLUICE_CONFIG: undefined, SLUICE_URL: undefined, SLUICE_API_KEY: undefined };
    const r = await runCli(['login', '--url', api.url], base, `${key}\n`);
    expect(r.code, show(['login'], r)).toBe(0);
    const saved = path.join(xdg, 'sluice', 'config.json');
    expect(statSync(saved).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(saved, 'utf8'))).toEqual({ url: api.url, api_key: key });

    const fromFile = await runCli(['models', 'ls', '--json'], base);
    expect(fromFile.code, show(['models ls (saved key)'], fromFile)).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toMatchObject([{ name: 'lin', aliases: { production: 1 } }]);
    const envKey = await runCli(['models', 'ls'], { ...base, SLUICE_API_KEY: 'sk_live_wrong' });
    expect(envKey.code).toBe(3);
    const envUrl = await runCli(['models', 'ls'], { ...base, SLUICE_URL: `http://127.0.0.1:${await freePort()}` });
    expect(envUrl.code).toBe(4);

    const refused = await runCli(['login', '--url', api.url], { ...base, XDG_CONFIG_HOME: path.join(dir, 'xdg2') }, 'sk_live_wrong\n');
    expect(refused.code).toBe(3);
    expect(() => statSync(path.join(dir, 'xdg2', 'sluice', 'config.json'))).toThrow(); // nothing saved
  });
});

describe('models, aliases, predictions, keys', () => {
  it('models push a second version, alias set, models show; predict inline', async () => {
    const push = await sluice(['models', 'push', path.join(dir, 'lin.onnx'), '--name', 'lin', '--signature', path.join(dir, 'lin.signature.json'), '--json']);
    expect(push.code, show(['models push'], push)).toBe(0);
    expect(JSON.parse(push.stdout)).toMatchObject({ name: 'lin', version: 2 });
    const alias = await sluice(['alias', 'set', 'lin', 'production', '2', '--json']);
    expect(alias.code, show(['alias set'], alias)).toBe(0);
    expect(JSON.parse(alias.stdout)).toMatchObject({ name: 'lin', alias: 'production', version: 2 });
    const shown = await sluice(['models', 'show', 'lin']);
    expect(shown.stdout).toMatch(/^lin: latest version 2; aliases: production → 2/);
    expect(shown.stdout).toMatch(/^2 +\S+ \S+ +[\d.]+ \w?B +[0-9a-f]{12} +regression +production/m);

    const one = await sluice(['predict', '--model', 'lin@production', '{"id": "p1", "a": 1, "b": 2, "c": 3, "d": 4}']);
    expect(one.code, show(['predict'], one)).toBe(0);
    const line = JSON.parse(one.stdout.trim());
    expect(line).toMatchObject({ row: 1, passthrough: { id: 'p1' }, error: null });
    expect(line.prediction).toBeCloseTo(W[0] + W[1] * 2 + W[2] * 3 + W[3] * 4 + B, 4);
    const many = await sluice(['predict', '--model', 'lin', '--input', file('recs.jsonl', '{"a":1,"b":1,"c":1,"d":1}\n{"a":0,"b":0,"c":0,"d":0}\n')]);
    expect(many.stdout.trim().split('\n').map((l) => JSON.parse(l).row)).toEqual([1, 2]);
  });

  it('keys create prints only the key; keys ls lists it; keys revoke makes it fail with exit 3', async () => {
    const created = await sluice(['keys', 'create', '--scopes', 'jobs:read,models:read', '--name', 'cli-test']);
    expect(created.code, show(['keys create'], created)).toBe(0);
    const newKey = created.stdout.trim();
    expect(newKey).not.toContain('\n');
    expect((await sluice(['models', 'ls'], { SLUICE_API_KEY: newKey })).code).toBe(0);
    const keys = JSON.parse((await sluice(['keys', 'ls', '--json'])).stdout) as { id: string; name: string; prefix: string }[];
    const mine = keys.find((k) => k.name === 'cli-test')!;
    expect(newKey.startsWith(mine.prefix)).toBe(true);
    const revoked = await sluice(['keys', 'revoke', mine.id]);
    expect(revoked.code, show(['keys revoke'], revoked)).toBe(0);
    expect((await sluice(['models', 'ls'], { SLUICE_API_KEY: newKey })).code).toBe(3);
    // A key without the scope a command needs: exit 3 too.
    expect((await sluice(['keys', 'ls'], { SLUICE_API_KEY: (await createKey(env.pool, 'acme', ['jobs:read'])).key })).code).toBe(3);
  });

  it('jobs cancel of a finished job is refused with its code; jobs results --only errors --out writes the failed rows', async () => {
    const id = (await sluice(['jobs', 'ls', '--json', '--status', 'completed', '--limit', '1'])).stdout;
    const jobId = (JSON.parse(id) as { id: string }[])[0].id;
    const cancel = await sluice(['jobs', 'cancel', jobId]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(/job_not_cancellable, HTTP 409/);

    const input = path.join(dir, 'some-bad.csv');
    const bad = (await sluice(['submit', input, '--model', 'lin', '--wait', '--json'])).stdout;
    const errorsOut = path.join(dir, 'errors.csv');
    const r = await sluice(['jobs', 'results', JSON.parse(bad).id, '--only', 'errors', '--out', errorsOut]);
    expect(r.code, show(['jobs results'], r)).toBe(0);
    expect(r.stdout).toMatch(/^10 rows .* written to /);
    const rows = readCsv(readFileSync(errorsOut, 'utf8'));
    expect(rows.map((x) => x.row)).toEqual(['1', '11', '21', '31', '41', '51', '61', '71', '81', '91']);
    expect(rows[0]).toMatchObject({ id: 'e0', a: 'oops' });
  });
});
