import type { Env } from './settings.js';

// Two checks and one place that writes: results go to stdout (a table, a key, a job id, or with
// --json one JSON document), everything for the person (progress, notes, errors) to stderr. Bars
// and their escape codes only where stderr is a terminal (not under CI, not TERM=dumb, not --json);
// otherwise plain lines.

export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export function isInteractive(io: Io, env: Env): boolean {
  return !!io.stderr.isTTY && !env.CI && env.TERM !== 'dumb';
}

export class Output {
  constructor(
    readonly io: Io,
    /** --json: stdout holds one JSON document, stderr only errors. */
    readonly json: boolean,
    /** Bars may be drawn. */
    readonly interactive: boolean,
  ) {}

  /** A line of the command's result (stdout). */
  line(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** The command's result as JSON (stdout). */
  data(value: unknown): void {
    this.io.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  /** A note for the person (stderr); nothing under --json. */
  note(text: string): void {
    if (!this.json) this.io.stderr.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** An error (stderr, also under --json). */
  error(text: string): void {
    this.io.stderr.write(`sluice: ${text}\n`);
  }
}
