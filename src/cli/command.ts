import type { Sluice } from '../client/index.js';
import type { Io, Output } from './output.js';
import type { Env } from './settings.js';

// A command is data: its words, arguments, options, an example for --help, and what it runs
// (as wrangler declares its commands). main.ts turns the list in commands/index.ts into commander
// commands and gives every one --url, --json and --help.

export interface OptionSpec {
  flags: string;
  description: string;
  required?: boolean;
  default?: string | boolean;
  /** Converts and checks the value (throw commander's InvalidArgumentError to refuse it). */
  parse?: (value: string) => unknown;
}

export interface Context {
  out: Output;
  env: Env;
  io: Io;
  /** The client for --url / SLUICE_URL / the config file, with the key (exit 3 when there is none). */
  client(): Promise<Sluice>;
  /** The server address the client would use. */
  url(): Promise<string>;
  configPath: string;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
}

export interface CommandSpec {
  /** e.g. ['models', 'push'] */
  words: string[];
  /** commander argument syntax, e.g. ['<file>'] */
  args?: string[];
  summary: string;
  /** More about the command, shown by --help. */
  description?: string;
  options?: OptionSpec[];
  /** Shown by --help; the first is the one people copy. */
  examples: string[];
  /** Resolves with the exit code (0 when nothing is returned). */
  run(ctx: Context, args: string[], opts: Record<string, unknown>): Promise<number | void>;
}
