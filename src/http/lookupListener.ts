import { EventEmitter } from 'node:events';
import pg from 'pg';
import { listenForLookupChanges } from '../db/listenForLookupChanges.js';
import { pingConnection } from '../db/pingConnection.js';
import type { Logger } from '../log.js';

/** The channel migrations/0006_lookup_notify.sql notifies on. */
export const LOOKUP_CHANNEL = 'sluice_lookups';

export interface LookupListenerOptions {
  connectionString: string;
  log?: Logger;
  /** First reconnect delay; doubles per failed attempt (with jitter) up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A `SELECT 1` on the connection every pingMs finds a connection that died without telling us. */
  pingMs?: number;
  pingTimeoutMs?: number;
  /** Checked before each reconnect and ping: true closes the listener (e.g. its pool was ended). */
  shouldStop?: () => boolean;
  /** How a reconnect waits; tests can hold a reconnect back with their own. */
  delay?: (ms: number) => Promise<void>;
}

/**
 * ONE dedicated Postgres connection (not from the pool) doing `LISTEN sluice_lookups`, kept up with
 * reconnects and backoff. Events, all emitted synchronously:
 *  - 'up'   LISTEN is in effect on a new connection. Notifications sent while there was none are
 *           lost, so whoever caches must forget everything here.
 *  - 'down' the connection is gone (error, end, failed ping). Until the next 'up', `listening` is
 *           false and nothing may be served from a cache.
 *  - 'notification' (payload: string)
 * It never throws at its user: a Postgres outage is a series of failed attempts, logged.
 */
export class LookupListener extends EventEmitter {
  private client: pg.Client | null = null;
  private up = false;
  private closed = false;
  private attempt = 0;
  private backendPid: number | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private pinging = false;
  private waitTimer: NodeJS.Timeout | null = null;
  private started: Promise<boolean> | null = null;

  constructor(private readonly opts: LookupListenerOptions) {
    super();
  }

  /** True while LISTEN is in effect: notifications from now on reach us. */
  get listening(): boolean {
    return this.up;
  }

  /** The backend pid of the LISTEN connection while it is up (tests terminate it). */
  get pid(): number | null {
    return this.backendPid;
  }

  /** Starts connecting; resolves after the first attempt (true when LISTEN is in effect). Idempotent. */
  start(): Promise<boolean> {
    this.started ??= this.connectOnce();
    return this.started;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.waitTimer) clearTimeout(this.waitTimer);
    const c = this.client;
    this.client = null;
    const wasUp = this.up;
    this.up = false;
    this.backendPid = null;
    if (wasUp) this.emit('down', new Error('closed'));
    if (c) await c.end().catch(() => {});
  }

  private async connectOnce(): Promise<boolean> {
    if (this.closed) return false;
    if (this.opts.shouldStop?.()) {
      await this.close();
      return false;
    }
    const client = new pg.Client({ connectionString: this.opts.connectionString, keepAlive: true, connectionTimeoutMillis: 5000 });
    this.client = client;
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('LISTEN connection ended')));
    client.on('notification', (msg) => {
      if (client === this.client && msg.channel === LOOKUP_CHANNEL) this.emit('notification', msg.payload ?? '');
    });
    try {
      await client.connect();
      const pid = await listenForLookupChanges(client, LOOKUP_CHANNEL);
      if (client !== this.client) return false; // lost (or closed) meanwhile
      // The listener must not keep a process alive on its own (a caller that forgets close()).
      (client as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
      this.backendPid = pid;
      if (this.attempt > 0) this.opts.log?.info({ attempts: this.attempt }, 'lookup caches: LISTEN restored; caches start empty');
      this.attempt = 0;
      this.up = true;
      this.emit('up');
      this.pingTimer = setInterval(() => this.ping(client), this.opts.pingMs ?? 10_000);
      this.pingTimer.unref();
      return true;
    } catch (err) {
      this.lost(client, err);
      return false;
    }
  }

  private ping(client: pg.Client) {
    if (this.opts.shouldStop?.()) {
      void this.close();
      return;
    }
    if (this.pinging || client !== this.client) return;
    this.pinging = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('LISTEN connection did not answer a ping')), this.opts.pingTimeoutMs ?? 5000);
    });
    Promise.race([pingConnection(client), timeout])
      .catch((err) => this.lost(client, err))
      .finally(() => {
        clearTimeout(timer);
        this.pinging = false;
      });
  }

  /** The connection `client` is gone: go down (once per connection) and schedule a reconnect. */
  private lost(client: pg.Client, err: unknown) {
    if (client !== this.client) return; // an old connection's late events
    this.client = null;
    const wasUp = this.up;
    this.up = false;
    this.backendPid = null;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    client.end().catch(() => {});
    // A socket that died silently may never finish end(): make sure it is gone.
    (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
    if (wasUp) {
      this.opts.log?.warn({ err }, 'lookup caches: LISTEN connection lost; caches cleared and bypassed until it is back');
      this.emit('down', err);
    } else if (this.attempt === 0) {
      this.opts.log?.warn({ err }, 'lookup caches: could not LISTEN; caches bypassed until it can');
    }
    if (!this.closed) void this.reconnect();
  }

  private async reconnect() {
    const min = this.opts.minBackoffMs ?? 100;
    const max = this.opts.maxBackoffMs ?? 5000;
    const ms = Math.min(max, min * 2 ** Math.min(this.attempt, 20)) * (0.5 + Math.random() / 2);
    this.attempt++;
    await (this.opts.delay ?? this.sleep)(ms);
    if (!this.closed && !this.client) await this.connectOnce();
  }

  private sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      this.waitTimer = setTimeout(resolve, ms);
      this.waitTimer.unref();
    });
}
