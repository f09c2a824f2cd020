import type { Logger } from '../log.js';

export interface Periodic {
  /** Runs the pass now unless one is in flight (then resolves when that one ends). */
  tick(): Promise<void>;
  /** No pass starts from now on; resolves when the one in flight, if any, has ended. */
  stop(): Promise<void>;
}

/**
 * Housekeeping on an interval, never overlapping itself: a failed pass (Postgres or Redis down) is
 * logged and tried again next time.
 */
export function periodic(name: string, ms: number, fn: () => Promise<unknown>, log: Logger): Periodic {
  let inFlight: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (!inFlight && !stopped) inFlight = fn().then(() => {}, (err) => log.warn({ err: (err as Error).message }, `${name} failed; will try again`)).finally(() => (inFlight = null));
    return inFlight ?? Promise.resolve();
  };
  const timer = setInterval(tick, ms);
  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
