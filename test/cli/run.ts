import { spawn } from 'node:child_process';
import path from 'node:path';

// `sluice` as a user runs it: bin/sluice.js under plain node, in a child process with an
// environment of the test's choosing (never the machine's SLUICE_* or the real home).

const BIN = path.resolve(import.meta.dirname, '../../bin/sluice.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: Record<string, string | undefined>, input?: string): Promise<CliRun> {
  const clean = Object.fromEntries(Object.entries({ PATH: process.env.PATH, ...env }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const child = spawn(process.execPath, [BIN, ...args], { env: clean, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What a failed expectation should show: the command, its exit code and output. */
export const show = (args: string[], r: CliRun) => `sluice ${args.join(' ')} → ${r.code}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
