import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { NotFoundError, SluiceError } from '../errors.js';
import type { Transport } from '../transport.js';
import type { Job } from '../types.js';

// One connection to GET /v1/jobs/{id}/events (Server-Sent Events), decoded by eventsource-parser.
// Every event's data is the job as GET /v1/jobs/{id} shows it: `status`, `progress` (at most every
// 500 ms), then one of `completed`, `failed`, `cancelled`, after which the server ends the stream.
// Events carry ids: a reconnection sends the last as Last-Event-ID and misses nothing. `: hb`
// comments are heartbeats; a stream silent for longer than `idleTimeoutMs` is taken as dead.

export interface JobEvent {
  /** The SSE event name: status, progress, completed, failed, cancelled. */
  type: string;
  id: string | null;
  job: Job;
}

/** The api has no events route (an older server): use polling. */
export class EventsUnsupportedError extends SluiceError {
  override name = 'EventsUnsupportedError';
}

/** The stream went quiet (no event, no heartbeat) for longer than the idle timeout. */
export class StreamStalledError extends SluiceError {
  override name = 'StreamStalledError';
}

export interface JobEventsOptions {
  lastEventId?: string | null;
  signal?: AbortSignal;
  idleTimeoutMs?: number;
  /** Told the reconnection delay the server suggests (`retry:`). */
  onRetryHint?: (ms: number) => void;
}

export async function* jobEvents(t: Transport, id: string, opts: JobEventsOptions = {}): AsyncGenerator<JobEvent> {
  const idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
  const ctrl = new AbortController();
  const abort = () => ctrl.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', abort, { once: true });
  let res: Response;
  try {
    res = await t.request(`/v1/jobs/${encodeURIComponent(id)}/events`, {
      headers: { accept: 'text/event-stream', ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}) },
      signal: ctrl.signal,
    });
  } catch (err) {
    opts.signal?.removeEventListener('abort', abort);
    // The route's own 404 is about the job; any other 404 means the route is not there.
    if (err instanceof NotFoundError && err.code !== 'job_not_found') throw new EventsUnsupportedError('This Sluice server has no job events route.', { cause: err });
    throw err;
  }
  const queue: EventSourceMessage[] = [];
  const parser = createParser({
    onEvent: (e) => queue.push(e),
    onRetry: (ms) => opts.onRetryHint?.(ms),
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StreamStalledError(`No event or heartbeat for ${idleTimeoutMs / 1000} s.`)), idleTimeoutMs);
      });
      let chunk: ReadableStreamReadResult<string>;
      try {
        chunk = await Promise.race([reader.read(), stalled]);
      } finally {
        clearTimeout(timer);
      }
      if (chunk.done) return;
      parser.feed(chunk.value);
      while (queue.length) {
        const e = queue.shift()!;
        yield { type: e.event ?? 'message', id: e.id ?? null, job: JSON.parse(e.data) as Job };
      }
    }
  } finally {
    opts.signal?.removeEventListener('abort', abort);
    ctrl.abort();
    await reader.cancel().catch(() => {});
  }
}
