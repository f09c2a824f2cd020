import type { Logger } from './log.js';

// What the entry points (src/server.ts, workers/predict.ts) share about being a process: telling
// whoever started them that they are ready, and ending on SIGTERM/SIGINT.

/**
 * Tells a parent that started this process with an IPC channel (tests, scripts) that it is ready:
 * a message rather than a log line, so logs stay free to change. Without a channel, nothing.
 */
export function announceReady(info: Record<string, unknown> = {}): void {
  if (!process.send) return;
  process.send({ ready: true, ...info });
  // The channel must not keep the process alive on its own.
  process.channel?.unref();
}

export interface ShutdownOptions {
  log: Logger;
  /** Past this long after the signal, exit 1 with `message` logged, whatever is still in hand. */
  exitAfter?: { ms: number; message: string };
}

/**
 * The first SIGTERM or SIGINT closes `handle` and exits 0 once it has closed (1 if closing threw);
 * later signals are ignored while it closes.
 */
export function onShutdownSignals(handle: { close(): Promise<void> }, opts: ShutdownOptions): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    opts.log.info({ signal }, 'shutdown signal received');
    if (opts.exitAfter) {
      const { ms, message } = opts.exitAfter;
      setTimeout(() => {
        opts.log.warn(message);
        process.exit(1);
      }, ms).unref();
    }
    handle.close().then(
      () => process.exit(0),
      (err) => {
        opts.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
