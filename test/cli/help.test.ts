import { Writable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { COMMANDS, GROUPS } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';

// --help on every command, in this process (main() resolves with the exit code, never exits):
// each shows its usage and an example, and exits 0; a command line commander refuses exits 2.

function capture(): { io: Io; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) => new Writable({ write: (chunk, _enc, done) => (add(String(chunk)), done()) });
  const stdin = new PassThrough();
  stdin.end();
  return { io: { stdin, stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) }, out: () => out, err: () => err };
}

const env = { HOME: '/nonexistent', SLUICE_CONFIG: '/nonexistent/config.json' };

describe('sluice --help', () => {
  it.each([...COMMANDS.map((c) => c.words.join(' ')), ...GROUPS.map((g) => g.name), ''])('sluice %s --help: usage and an example, exit 0', async (words) => {
    const c = capture();
    const code = await main([...words.split(' ').filter(Boolean), '--help'], env, c.io);
    expect(code).toBe(0);
    expect(c.out()).toMatch(/^Usage: sluice/);
    expect(c.out()).toMatch(/\nExamples?:\n  \$ .*\bsluice /);
    expect(c.out() + c.err()).not.toContain('\u001b');
  });

  it('every command has --url and --json; the options it documents are the ones it takes', async () => {
    for (const spec of COMMANDS) {
      const c = capture();
      await main([...spec.words, '--help'], env, c.io);
      expect(c.out()).toContain('--url <url>');
      expect(c.out()).toContain('--json');
      for (const o of spec.options ?? []) expect(c.out()).toContain(o.flags);
    }
  });

  it('usage errors exit 2 and say what is wrong', async () => {
    for (const [argv, said] of [
      [['submit', '--model', 'm'], /missing required argument 'file'/],
      [['submit', 'f.csv'], /required option '-m, --model <model>' not specified/],
      [['jobs', 'ls', '--status', 'sleeping'], /one of receiving, queued/],
      [['models', 'push', 'x.onnx', '--name', 'm'], /required option '-s, --signature <file>'/],
      [['alias', 'set', 'm', 'prod', 'two'], /whole number/],
      [['predict', '--model', 'm', '{not json'], /not valid JSON/],
    ] as const) {
      const c = capture();
      expect(await main([...argv], { ...env, SLUICE_API_KEY: 'k' }, c.io)).toBe(2);
      expect(c.err()).toMatch(said);
    }
  });
});
