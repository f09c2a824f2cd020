import type pg from 'pg';
import { updateKeysLastUsed } from '../db/updateKeysLastUsed.js';

/**
 * Records when each key was last used without a write per request: requests only note the key
 * id and time in memory, and a timer writes all of them in ONE statement every `intervalMs`.
 * At most `intervalMs` of last-use times is lost if the process dies, which is acceptable for a
 * field that answers "is this key still in use?". Times only move forward (GREATEST), so two api
 * processes flushing out of order cannot move a key's last use back.
 */
export class LastUsedRecorder {
  private pending = new Map<string, Date>();
  private timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    intervalMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  note(keyId: string, at = new Date()): void {
    this.pending.set(keyId, at);
  }

  /** Writes what was noted since the last flush; failures are reported and the times kept for next time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      try {
        await updateKeysLastUsed(this.pool, [...batch.keys()], [...batch.values()]);
      } catch (err) {
        for (const [id, at] of batch) if (!this.pending.has(id)) this.pending.set(id, at);
        this.onError(err);
      }
    });
    return this.flushing;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
