import type { Job } from '@client/types';

// Live updates over Server-Sent Events (GET /v1/events for the tenant, GET /v1/jobs/{id}/events
// for one job), authenticated by the session cookie. One EventSource per URL however many
// components listen, reference-counted and closed when the last one leaves, or when a job's stream
// tells its end (an EventSource left open would reconnect and be told the end again). Every
// event's data is the whole job, so each is the job's current state.

export type JobEventType = 'status' | 'progress' | 'completed' | 'failed' | 'cancelled';
const TYPES: JobEventType[] = ['status', 'progress', 'completed', 'failed', 'cancelled'];
const FINAL = new Set<JobEventType>(['completed', 'failed', 'cancelled']);

export interface StreamListener {
  event(type: JobEventType, job: Job): void;
  /** open: receiving; closed: the browser gave up (a 401/403, or the stream ended for good). */
  state?(state: 'connecting' | 'open' | 'closed'): void;
}

interface Channel {
  source: EventSource;
  listeners: Set<StreamListener>;
  state: 'connecting' | 'open' | 'closed';
}

const channels = new Map<string, Channel>();

function setState(c: Channel, state: Channel['state']) {
  c.state = state;
  for (const l of c.listeners) l.state?.(state);
}

function open(url: string, endsOnFinal: boolean): Channel {
  const source = new EventSource(url, { withCredentials: true });
  const c: Channel = { source, listeners: new Set(), state: 'connecting' };
  source.onopen = () => setState(c, 'open');
  source.onerror = () => setState(c, source.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
  for (const type of TYPES) {
    source.addEventListener(type, (e) => {
      let job: Job;
      try {
        job = JSON.parse((e as MessageEvent<string>).data) as Job;
      } catch {
        return;
      }
      for (const l of [...c.listeners]) l.event(type, job);
      if (endsOnFinal && FINAL.has(type)) {
        source.close();
        channels.delete(url);
        setState(c, 'closed');
      }
    });
  }
  return c;
}

/** Listens to the stream at `url`; returns the function that stops listening. */
export function subscribe(url: string, listener: StreamListener, opts: { endsOnFinal?: boolean } = {}): () => void {
  let c = channels.get(url);
  if (!c) {
    c = open(url, opts.endsOnFinal ?? false);
    channels.set(url, c);
  }
  c.listeners.add(listener);
  listener.state?.(c.state);
  const channel = c;
  return () => {
    channel.listeners.delete(listener);
    if (channel.listeners.size === 0) {
      channel.source.close();
      if (channels.get(url) === channel) channels.delete(url);
    }
  };
}

/** Closes every stream (sign-out). */
export function closeAllStreams(): void {
  for (const c of channels.values()) c.source.close();
  channels.clear();
}
