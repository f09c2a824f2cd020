import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ApiError, Sluice } from '../client/index.js';
import type { Context } from './command.js';
import { COMMANDS, GROUPS } from './commands/index.js';
import { EXIT, exitCodeFor } from './exitCodes.js';
import { isInteractive, Output, type Io } from './output.js';
import { configPath, readStored, requireKey, resolveConnection, type Env } from './settings.js';

// `sluice`: builds the commander program from the command list, runs one command, and turns what
// it returned or threw into an exit code (exitCodes.ts). Nothing below exits the process: the
// entry point (bin/sluice.js) does, with the code this resolves.

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export async function main(argv: string[], env: Env, io: Io, signal: AbortSignal = new AbortController().signal): Promise<number> {
  let code: number = EXIT.ok;
  let out = new Output(io, false, false);
  const program = new Command('sluice')
    .description('Score CSV files with ONNX models on a Sluice server: push models, submit files, watch jobs, download results.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ sluice login --url http://localhost:8080
  $ sluice models push penguins.onnx --name penguins --signature penguins.signature.json --alias production
  $ sluice submit penguins.csv --model penguins@production --wait --out results.csv

Exit codes: 0 done, 1 job failed (or rows failed past --max-error-rate), 2 usage, 3 auth, 4 server unreachable.
Settings: --url, else SLUICE_URL, else the config file that "sluice login" writes; the key: SLUICE_API_KEY, else the config file.`,
    );

  // Groups (models, jobs, …) are made where their first command comes in the list, so --help
  // lists everything in the list's order.
  const groups = new Map<string, Command>();
  const group = (name: string) => {
    if (!groups.has(name)) {
      const g = GROUPS.find((x) => x.name === name)!;
      const cmd = program.command(g.name).description(g.summary);
      cmd.addHelpText('after', `\nExamples:\n${g.examples.map((e) => `  $ ${e}`).join('\n')}`);
      groups.set(name, cmd);
    }
    return groups.get(name)!;
  };

  for (const spec of COMMANDS) {
    const parent = spec.words.length > 1 ? group(spec.words[0]) : program;
    const cmd = parent
      .command(spec.words.at(-1)!)
      .summary(spec.summary)
      .description(spec.description ? `${spec.summary}\n\n${spec.description}` : spec.summary);
    for (const a of spec.args ?? []) cmd.argument(a);
    for (const o of spec.options ?? []) {
      const add = o.required ? cmd.requiredOption.bind(cmd) : cmd.option.bind(cmd);
      if (o.parse) add(o.flags, o.description, o.parse as (v: string, p: unknown) => unknown, o.default);
      else add(o.flags, o.description, o.default as string | boolean | undefined);
    }
    cmd.option('--url <url>', 'the Sluice server (default: SLUICE_URL, else the config file, else http://localhost:8080)');
    cmd.option('--json', 'print one JSON document on stdout instead of text; no progress');
    cmd.addHelpText('after', `\nExample${spec.examples.length > 1 ? 's' : ''}:\n${spec.examples.map((e) => `  $ ${e}`).join('\n')}`);
    cmd.action(async (...a: unknown[]) => {
      const command = a.at(-1) as Command;
      const opts = command.opts<Record<string, unknown>>();
      out = new Output(io, !!opts.json, !opts.json && isInteractive(io, env));
      const ctx = context(opts, env, io, out, signal);
      code = (await spec.run(ctx, command.processedArgs as string[], opts)) ?? EXIT.ok;
    });
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    // commander has already said what was wrong with the command line (or printed help/version).
    if (!(err instanceof CommanderError)) report(out, err);
    return exitCodeFor(err);
  }
}

function context(opts: Record<string, unknown>, env: Env, io: Io, out: Output, signal: AbortSignal): Context {
  const path = configPath(env);
  const connection = async () => resolveConnection({ url: opts.url as string | undefined }, env, await readStored(path));
  let client: Sluice | null = null;
  return {
    out,
    env,
    io,
    signal,
    configPath: path,
    url: async () => (await connection()).url,
    async client() {
      if (client) return client;
      const c = await connection();
      client = new Sluice({ baseUrl: c.url, apiKey: requireKey(c, path), userAgent: `sluice-cli/${VERSION}` });
      return client;
    },
  };
}

function report(out: Output, err: unknown) {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ApiError) {
    out.error(`${message} (${err.code}, HTTP ${err.status}${err.requestId ? `, request ${err.requestId}` : ''})`);
    if (out.json) out.data({ error: { code: err.code, status: err.status, message, request_id: err.requestId } });
    return;
  }
  if (err instanceof DOMException && err.name === 'AbortError') {
    out.error('interrupted');
    return;
  }
  out.error(message);
  if (out.json) out.data({ error: { code: (err as Error)?.name ?? 'error', message } });
}
