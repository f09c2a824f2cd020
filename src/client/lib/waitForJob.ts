import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, ConnectionError, WaitTimeoutError } from '../errors.js';
import { retryDelayMs } from '../retry.js';
import type { Transport } from '../transport.js';
import { isFinalStatus, type Job } from '../types.js';
import { EventsUnsupportedError, jobEvents, StreamStalledError } from './jobEvents.js';

// Waits for a job to finish, telling `onUpdate` each state on the way. Server-Sent Events first
// (jobEvents.ts): a dropped or silent stream is reopened with Last-Event-ID, so no event is lost.
// Polling (GET /v1/jobs/{id}?wait=N, long polling) when the server has no events route, or when
// the stream keeps failing. Errors that no retry can mend (401, 403, 404, 410) go to the caller.

export interface WaitOptions {
  /** Each state seen: every SSE event, or every poll's answer. */
  onUpdate?: (job: Job, event: string) => void;
  signal?: AbortSignal;
  /** Give up (WaitTimeoutError) after this long; default: never. */
  timeoutMs?: number;
  /** Seconds each poll holds (?wait=): short when progress is shown, long otherwise. */
  pollWaitSeconds?: number;
  /** Skip SSE and poll (for servers behind proxies that buffer event streams). */
  poll?: boolean;
  idleTimeoutMs?: number;
}

const MAX_STREAM_FAILURES = 5;

export async function waitForJob(t: Transport, id: string, opts: WaitOptions = {}): Promise<Job> {
  const started = Date.now();
  const deadline = opts.timeoutMs === undefined ? Infinity : started + opts.timeoutMs;
  let last: Job | null = null;
  const timedOut = () => new WaitTimeoutError(id, last?.status ?? null, Math.round((Date.now() - started) / 1000));
  const see = (job: Job, event: string) => {
    last = job;
    opts.onUpdate?.(job, event);
    return isFinalStatus(job.status);
  };

  if (!opts.poll) {
    let lastEventId: string | null = null;
    let failures = 0;
    let hintMs: number | null = null;
    const deadlineSignal = Number.isFinite(deadline) ? AbortSignal.timeout(Math.max(1, deadline - Date.now())) : null;
    const signal = anySignal([opts.signal, deadlineSignal]);
    for (;;) {
      try {
        for await (const e of jobEvents(t, id, { lastEventId, signal, idleTimeoutMs: opts.idleTimeoutMs, onRetryHint: (ms) => (hintMs = ms) })) {
          failures = 0;
          lastEventId = e.id ?? lastEventId;
          if (see(e.job, e.type) || ['completed', 'failed', 'cancelled'].includes(e.type)) return e.job;
        }
        // The stream ended before the final event (the api restarted): reopen where it stopped.
      } catch (err) {
        if (err instanceof EventsUnsupportedError) break;
        if (deadlineSignal?.aborted) throw timedOut();
        if (opts.signal?.aborted) throw err;
        const transient = err instanceof StreamStalledError || err instanceof ConnectionError || (err instanceof TypeError) || (err instanceof ApiError && err.status >= 500);
        if (!transient) throw err;
        if (++failures > MAX_STREAM_FAILURES) break; // the stream will not hold: poll instead
      }
      if (Date.now() >= deadline) throw timedOut();
      await sleep(hintMs ?? retryDelayMs(Math.max(1, failures)), undefined, { signal: opts.signal });
    }
  }

  const pollWait = opts.pollWaitSeconds ?? (opts.onUpdate ? 1 : 25);
  for (;;) {
    const left = (deadline - Date.now()) / 1000;
    if (left <= 0) throw timedOut();
    const res = await t.request(`/v1/jobs/${encodeURIComponent(id)}`, { query: { wait: Math.max(0, Math.min(pollWait, Math.floor(left))) }, signal: opts.signal });
    const job = (await res.json()) as Job;
    if (see(job, 'poll')) return job;
  }
}

function anySignal(signals: (AbortSignal | null | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => !!s);
  if (present.length <= 1) return present[0];
  return AbortSignal.any(present);
}
