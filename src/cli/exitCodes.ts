import { CommanderError } from 'commander';
import { AuthenticationError, BadRequestError, ConnectionError, PermissionDeniedError } from '../client/errors.js';

// The exit codes of `sluice`, decided in one place from the class of what went wrong; only the
// entry point (bin/sluice.js through main.ts) exits.

export const EXIT = {
  /** The command did what was asked (a job: it completed, with failed rows under --max-error-rate). */
  ok: 0,
  /** The job failed or was cancelled, rows failed past --max-error-rate, or the server refused the request. */
  failed: 1,
  /** Bad command line: unknown command or option, missing argument, unreadable input file; or a 400 from the server. */
  usage: 2,
  /** No key, a key the server refuses (401), or one without the scope the command needs (403). */
  auth: 3,
  /** No HTTP answer from the server. */
  unreachable: 4,
  /** Ctrl-C. */
  interrupted: 130,
} as const;

/** A command line that cannot be carried out as given. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** No API key anywhere (flag, environment, config file). */
export class MissingKeyError extends Error {
  override name = 'MissingKeyError';
}

/** The job ended in a way the caller asked to treat as failure; the summary is already printed. */
export class JobOutcomeError extends Error {
  override name = 'JobOutcomeError';
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (err instanceof UsageError || err instanceof BadRequestError) return EXIT.usage;
  if (err instanceof MissingKeyError || err instanceof AuthenticationError || err instanceof PermissionDeniedError) return EXIT.auth;
  if (err instanceof ConnectionError) return EXIT.unreachable;
  if (err instanceof DOMException && err.name === 'AbortError') return EXIT.interrupted;
  return EXIT.failed;
}
