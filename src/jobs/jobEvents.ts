import type { RedisClient } from '../queue/redis.js';
import type pg from 'pg';
import { getJobRow } from '../db/getJobRow.js';
import { isFinal, type JobRow, type JobStatus } from '../db/jobRow.js';
import type { Logger } from '../log.js';
import { attachErrors } from './errorSummary.js';
import { eventId, isLater, parseEventId, posOf, STATUS_RANK, type EventPos } from './eventIds.js';
import { messageJob, parseFinishedMessage } from './finishedMessage.js';
import { parseProgressMessage } from './progressMessage.js';
import { jobView, type ViewContext } from './view.js';

// Live progress in an api process (docs/events.md): the watchers of GET /v1/jobs/{id}/events (one
// job) and GET /v1/events (every job of a tenant), fed from ONE Redis subscription however many
// they are. Workers publish the batch jobs a commit moved (progressMessage.ts) and the jobs that
// finished (finishedMessage.ts); a message that names no job or tenant watched here is dropped
// unread. For a watched job the process reads the job once (the view GET /v1/jobs/{id} gives, as
// JSON, built once) and offers it to every watcher: a status change or an end at once, progress at
// most every PROGRESS_INTERVAL_MS per job. An idle watcher costs no query and no timer: Postgres
// is read when a watcher connects and when a message names its job; one interval beats the hearts
// of all of them.

export type JobEventName = 'status' | 'progress' | 'completed' | 'failed' | 'cancelled';

/** Where a watcher's events go: an SSE response (src/http/sse.ts). */
export interface EventSink {
  event(name: JobEventName, id: string, data: string): void;
  heartbeat(): void;
  /** Ends the stream: after the final event, or when the process stops. */
  end(): void;
}

/** A state of a job as its events carry it: the job view as JSON, shared by every watcher. */
export interface JobState extends EventPos {
  jobId: string;
  tenantId: string;
  status: JobStatus;
  id: string;
  data: string;
}

/** A watcher, as its route holds it: closed when the client goes. */
export interface Watch {
  close(): void;
}

export const PROGRESS_INTERVAL_MS = 500;
/** How long a finished or unwatched job's bookkeeping outlives its last read (swept on the heartbeat). */
const TRACK_TTL_MS = 60_000;

export interface JobEventsOptions {
  pool: pg.Pool;
  /** The api's subscriber connection (shared with the JobWaiter): subscribed here to both channels. */
  sub: RedisClient;
  channels: { finished: string; progress: string };
  view: ViewContext;
  heartbeatMs: number;
  log: Logger;
}

/** Per watched job: what was last told and when, so reads are coalesced and never go backwards. */
interface Tracked {
  tenantId: string;
  /** The status last delivered, and the position. */
  status?: JobStatus;
  latest?: EventPos;
  /** The latest status a message named: later than `status`, it is a change to tell at once. */
  heard?: JobStatus;
  /** Read at once, whatever the messages said (an end, Redis back after an outage). */
  force: boolean;
  readAt: number;
  reading: boolean;
  /** A message came while reading: read again when done. */
  again: boolean;
  timer?: NodeJS.Timeout;
}

export class JobEvents {
  private readonly byJob = new Map<string, Set<JobWatch>>();
  private readonly byTenant = new Map<string, Set<TenantWatch>>();
  private readonly streams = new Map<string, number>();
  private readonly tracked = new Map<string, Tracked>();
  private heartbeat?: NodeJS.Timeout;
  private subscribed = false;
  private closed = false;

  constructor(private readonly opts: JobEventsOptions) {}

  async start() {
    const { sub, channels } = this.opts;
    sub.on('message', (ch: string, message: string) => {
      if (ch === channels.progress) this.onProgress(message);
      else if (ch === channels.finished) this.onFinished(message);
    });
    // Messages published while Redis was away are lost: once resubscribed, every watched job is
    // read again, so no watcher waits for ever on an end it missed. (A tenant feed is live: it
    // takes up again from the next message.)
    sub.on('ready', () => {
      if (!this.subscribed || this.closed) return;
      for (const [jobId, set] of this.byJob) this.schedule(jobId, [...set][0].tenantId, true);
    });
    await sub.subscribe(channels.progress, channels.finished);
    this.subscribed = true;
    this.heartbeat = setInterval(() => this.beat(), this.opts.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Streams a tenant holds open in this process (SSE_MAX_STREAMS_PER_TENANT). */
  streamsOf(tenantId: string): number {
    return this.streams.get(tenantId) ?? 0;
  }

  /** Watchers in this process, for tests and the bench. */
  get size(): { jobs: number; watchers: number; tracked: number } {
    let watchers = 0;
    for (const n of this.streams.values()) watchers += n;
    return { jobs: this.byJob.size, watchers, tracked: this.tracked.size };
  }

  /**
   * Follows one job of the tenant. The watcher is registered before the job is read, so news that
   * comes during the read is kept (and sent after, if later). Null, with nothing opened, when the
   * tenant has no such job. `open` starts the stream; the first event is the job's current state,
   * unless `lastEventId` says the client has seen it (a final state is always sent, then the end).
   */
  async watchJob(jobId: string, tenantId: string, lastEventId: string | undefined, open: () => EventSink): Promise<Watch | null> {
    const w = new JobWatch(this, jobId, tenantId);
    this.add(this.byJob, jobId, w);
    let state: JobState | null;
    try {
      state = await this.load(jobId, tenantId);
    } catch (err) {
      this.remove(w);
      throw err;
    }
    if (!state || this.closed) {
      this.remove(w);
      return null;
    }
    w.start(open(), state, parseEventId(lastEventId));
    return w;
  }

  /** Follows every job of the tenant from now on (a live feed: nothing is replayed). */
  watchTenant(tenantId: string, sink: EventSink): Watch {
    const w = new TenantWatch(this, tenantId, sink);
    this.add(this.byTenant, tenantId, w);
    return w;
  }

  /** Ends every stream (the process is stopping: clients reconnect elsewhere with their Last-Event-ID). */
  close() {
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const t of this.tracked.values()) clearTimeout(t.timer);
    this.tracked.clear();
    for (const set of [...this.byJob.values(), ...this.byTenant.values()]) for (const w of set) w.close(true);
  }

  // ------------------------------------------------------------------ watchers

  private add<W extends JobWatch | TenantWatch>(map: Map<string, Set<W>>, key: string, w: W) {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(w);
    this.streams.set(w.tenantId, this.streamsOf(w.tenantId) + 1);
  }

  /** @internal Called by a watcher that closes. */
  remove(w: JobWatch | TenantWatch) {
    const [map, key] = w instanceof JobWatch ? [this.byJob as Map<string, Set<unknown>>, w.jobId] : [this.byTenant as Map<string, Set<unknown>>, w.tenantId];
    const set = map.get(key);
    if (!set?.delete(w)) return;
    if (set.size === 0) map.delete(key);
    const n = this.streamsOf(w.tenantId) - 1;
    if (n > 0) this.streams.set(w.tenantId, n);
    else this.streams.delete(w.tenantId);
    if (w instanceof JobWatch) this.untrackIfUnwatched(w.jobId);
  }

  private interested(jobId: string, tenantId: string | undefined): boolean {
    return this.byJob.has(jobId) || (tenantId !== undefined && this.byTenant.has(tenantId));
  }

  private untrackIfUnwatched(jobId: string) {
    const t = this.tracked.get(jobId);
    if (t && !t.reading && !this.interested(jobId, t.tenantId)) {
      clearTimeout(t.timer);
      this.tracked.delete(jobId);
    }
  }

  private beat() {
    for (const set of this.byJob.values()) for (const w of set) w.heartbeat();
    for (const set of this.byTenant.values()) for (const w of set) w.heartbeat();
    const old = Date.now() - TRACK_TTL_MS;
    for (const [jobId, t] of this.tracked) {
      if (t.reading || t.timer) continue;
      if (!this.interested(jobId, t.tenantId) || (t.status && isFinal(t.status) && t.readAt < old)) this.tracked.delete(jobId);
    }
  }

  // ------------------------------------------------------------------ news

  private onProgress(message: string) {
    if (this.byJob.size === 0 && this.byTenant.size === 0) return;
    for (const m of parseProgressMessage(message)) {
      if (!this.interested(m.id, m.tenant)) continue;
      const t = this.track(m.id, m.tenant);
      // A message older than what was told (workers publish concurrently) needs no read.
      if (t.latest && !isLater(posOf(m), t.latest)) continue;
      if (!t.heard || STATUS_RANK[m.status] > STATUS_RANK[t.heard]) t.heard = m.status;
      this.schedule(m.id, m.tenant);
    }
  }

  private onFinished(message: string) {
    if (this.byJob.size === 0 && this.byTenant.size === 0) return;
    for (const f of parseFinishedMessage(message)) {
      if (!this.interested(f.id, f.tenant)) continue;
      // A small job's message carries its final row (error summary attached): nothing to read.
      const row = messageJob(f);
      if (row && row.id === f.id && isFinal(row.status)) this.deliver(this.stateOf(row), this.track(f.id, row.tenant_id));
      else this.schedule(f.id, f.tenant ?? this.tracked.get(f.id)?.tenantId ?? '', true);
    }
  }

  private track(jobId: string, tenantId: string): Tracked {
    let t = this.tracked.get(jobId);
    if (!t) this.tracked.set(jobId, (t = { tenantId, force: false, readAt: 0, reading: false, again: false }));
    return t;
  }

  /**
   * Reads the job now (its first news, a status change, an end) or once PROGRESS_INTERVAL_MS has
   * passed since its last read. Whether it is urgent is judged when the read starts, against what
   * the last read found, so a burst of messages costs at most a read now and one after the interval.
   */
  private schedule(jobId: string, tenantId: string, force = false) {
    const t = this.track(jobId, tenantId);
    t.force ||= force;
    if (t.reading) {
      t.again = true;
      return;
    }
    const urgent = t.force || t.status === undefined || (t.heard !== undefined && STATUS_RANK[t.heard] > STATUS_RANK[t.status]);
    const wait = urgent ? 0 : t.readAt + PROGRESS_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      clearTimeout(t.timer);
      t.timer = undefined;
      void this.read(jobId, t);
    } else {
      t.timer ??= setTimeout(() => {
        t.timer = undefined;
        void this.read(jobId, t);
      }, wait);
    }
  }

  private async read(jobId: string, t: Tracked) {
    t.reading = true;
    t.again = false;
    t.force = false;
    t.readAt = Date.now();
    let state: JobState | null = null;
    let failed = false;
    try {
      state = await this.load(jobId);
    } catch (err) {
      failed = true;
      this.opts.log.warn({ err: String(err), job_id: jobId }, 'live progress: could not read a watched job; retrying');
    }
    t.reading = false;
    if (this.closed) return;
    if (state) this.deliver(state, t);
    if (!this.interested(jobId, t.tenantId)) return this.untrackIfUnwatched(jobId);
    if (failed) {
      t.timer ??= setTimeout(() => {
        t.timer = undefined;
        this.schedule(jobId, t.tenantId, true);
      }, 1000);
    } else if (t.again) this.schedule(jobId, t.tenantId);
  }

  /** Offers a state read after a message to the job's watchers and its tenant's; never an older one. */
  private deliver(state: JobState, t: Tracked) {
    if (t.latest && !isLater(state, t.latest)) return;
    const statusChanged = t.status !== state.status;
    t.latest = { rank: state.rank, chunksDone: state.chunksDone };
    t.status = state.status;
    t.tenantId = state.tenantId;
    for (const w of [...(this.byJob.get(state.jobId) ?? [])]) w.offer(state);
    for (const w of [...(this.byTenant.get(state.tenantId) ?? [])]) w.offer(state, statusChanged);
  }

  private async load(jobId: string, tenantId?: string): Promise<JobState | null> {
    const row = await getJobRow(this.opts.pool, jobId, tenantId);
    if (!row) return null;
    // Counted as rows fail: the same error summary GET /v1/jobs/{id} shows.
    await attachErrors(this.opts.pool, [row]);
    return this.stateOf(row);
  }

  private stateOf(row: JobRow): JobState {
    const pos = posOf(row);
    return { jobId: row.id, tenantId: row.tenant_id, status: row.status, ...pos, id: eventId(pos), data: JSON.stringify(jobView(row, this.opts.view)) };
  }
}

/** One client of GET /v1/jobs/{id}/events. Holds no timer while idle. */
class JobWatch implements Watch {
  private sink: EventSink | null = null;
  private last: EventPos | null = null;
  /** The latest state offered while the job was being read at connect. */
  private stash: JobState | null = null;
  /** Progress held back to keep PROGRESS_INTERVAL_MS between events. */
  private pending: JobState | null = null;
  private lastSentAt = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly hub: JobEvents, readonly jobId: string, readonly tenantId: string) {}

  start(sink: EventSink, state: JobState, last: EventPos | null) {
    this.sink = sink;
    if (isFinal(state.status) || isLater(state, last)) this.send(isFinal(state.status) ? (state.status as JobEventName) : last?.rank === state.rank ? 'progress' : 'status', state);
    else this.last = last;
    const stash = this.stash;
    this.stash = null;
    if (stash) this.offer(stash);
  }

  offer(state: JobState) {
    if (this.closed || state.tenantId !== this.tenantId) return;
    if (!this.sink) {
      if (!this.stash || isLater(state, this.stash)) this.stash = state;
      return;
    }
    if (!isLater(state, this.last)) return;
    if (isFinal(state.status)) return this.send(state.status as JobEventName, state);
    if (!this.last || state.rank > this.last.rank) return this.send('status', state);
    const wait = this.lastSentAt + PROGRESS_INTERVAL_MS - Date.now();
    if (wait <= 0) return this.send('progress', state);
    this.pending = state;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const p = this.pending;
      this.pending = null;
      if (p) this.offer(p);
    }, wait);
  }

  heartbeat() {
    this.sink?.heartbeat();
  }

  private send(name: JobEventName, state: JobState) {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = null;
    this.last = { rank: state.rank, chunksDone: state.chunksDone };
    this.lastSentAt = Date.now();
    this.sink!.event(name, state.id, state.data);
    if (isFinal(state.status)) this.close(true);
  }

  /** `end`: end the stream too (after the final event, or at shutdown); else the client already went. */
  close(end = false) {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.hub.remove(this);
    if (end) this.sink?.end();
  }
}

/** One client of GET /v1/events: told every state the process reads of its tenant's jobs. */
class TenantWatch implements Watch {
  private closed = false;

  constructor(private readonly hub: JobEvents, readonly tenantId: string, private readonly sink: EventSink) {}

  offer(state: JobState, statusChanged: boolean) {
    if (this.closed || state.tenantId !== this.tenantId) return;
    this.sink.event(isFinal(state.status) ? (state.status as JobEventName) : statusChanged ? 'status' : 'progress', state.id, state.data);
  }

  heartbeat() {
    this.sink.heartbeat();
  }

  close(end = false) {
    if (this.closed) return;
    this.closed = true;
    this.hub.remove(this);
    if (end) this.sink.end();
  }
}
