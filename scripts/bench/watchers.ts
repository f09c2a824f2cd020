// npm run bench, section "watchers": what idle live-progress watchers cost the api (issue 15).
// One api process (no worker, so the jobs stay queued and nothing moves), `jobs` jobs, and
// `watchers` SSE streams held open on it: `perJob` on each job's GET /v1/jobs/{id}/events, the rest
// on GET /v1/events. Measured: the api's resident memory before and after, and the transactions
// the bench database commits while everything is idle, with the watchers and, before them, without
// (what the api does anyway: its lookup caches' LISTEN connection pings Postgres every 10 s).
// Then the same streams on a bare node:http server (sseFloorServer.ts): the floor, what Node itself
// costs per open response on this machine.
// Read from pg_stat_database through the admin database, so reading it adds nothing; Postgres 15
// flushes a backend's counts within PGSTAT_IDLE_INTERVAL (10 s), hence the settling before and
// after each window. pg_stat_statements would name the statements, but it needs
// shared_preload_libraries, which the shared Postgres does not load.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { ADMIN_URL, csvHeader, csvRows, request, round, startApi, startProcess, type BenchDb, type Tenant } from './common.js';

export interface WatcherFigures {
  watchers: number;
  jobs: number;
  perJob: number;
  feeds: number;
  openFilesLimit: number;
  connectSeconds: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  /** The lowest RSS sampled while idle with the watchers. */
  rssAfterMinMb: number;
  kbPerWatcher: number;
  idleSeconds: number;
  idleTransactionsWithout: number;
  idleTransactionsWith: number;
  /** The same number of streams held by a bare node:http server (sseFloorServer.ts): what Node itself costs. */
  floorRssBeforeMb: number;
  floorRssAfterMb: number;
  /** Events (not heartbeats) the watchers received while idle: none is expected. */
  idleEvents: number;
  heartbeats: number;
  heartbeatMs: number;
}

const FLUSH_MS = 11_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (...a: unknown[]) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

/** The soft limit on open files of this process (its children inherit it). */
function openFilesLimit(): number {
  const m = readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+(\d+|unlimited)/);
  return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

async function xactCommits(admin: pg.Client, db: string): Promise<number> {
  const { rows } = await admin.query(`SELECT xact_commit::bigint AS n FROM pg_stat_database WHERE datname = $1`, [db]);
  return Number(rows[0].n);
}

/**
 * Transactions the bench database commits while nothing is asked of it, over idle + the flush
 * delay; and the api's RSS sampled every second meanwhile (V8 gives memory back some seconds after
 * a burst: the lowest sample is what the idle process holds, the last what it held at the end).
 */
async function idleWindow(admin: pg.Client, db: string, idleMs: number, rssMb: () => number): Promise<{ transactions: number; rssMinMb: number; rssLastMb: number }> {
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(rssMb()), 1000);
  try {
    await sleep(FLUSH_MS); // what happened before the window is counted before it starts
    const before = await xactCommits(admin, db);
    await sleep(idleMs + FLUSH_MS);
    const transactions = (await xactCommits(admin, db)) - before;
    if (process.env.BENCH_VERBOSE) log(`rss samples: ${samples.map((x) => round(x)).join(' ')}`);
    return { transactions, rssMinMb: Math.min(...samples), rssLastMb: samples.at(-1)! };
  } finally {
    clearInterval(sampler);
  }
}

interface Stream {
  req: http.ClientRequest;
  events: number;
  heartbeats: number;
}

/** Opens one SSE stream; resolves once its first event (a job's) or its first bytes (a feed's) arrived. */
function openStream(url: string, auth: Record<string, string>, waitForEvent: boolean): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const s = { events: 0, heartbeats: 0 } as Stream;
    s.req = http.get(url, { headers: { ...auth, accept: 'text/event-stream' }, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`${url}: ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        s.events += text.match(/^event: /gm)?.length ?? 0;
        s.heartbeats += text.match(/^: hb$/gm)?.length ?? 0;
        if (!waitForEvent || s.events > 0) resolve(s);
      });
      res.on('error', () => {});
    });
    s.req.on('error', reject);
  });
}

/** Opens every target, 500 at a time. */
async function openAll(targets: { url: string; job: boolean }[], auth: Record<string, string>): Promise<Stream[]> {
  const streams: Stream[] = [];
  for (let i = 0; i < targets.length; i += 500) streams.push(...(await Promise.all(targets.slice(i, i + 500).map((t) => openStream(t.url, auth, t.job)))));
  return streams;
}

/** RSS of a process holding streams to `targets` after `idleMs`, and before them. */
async function rssHolding(proc: { rssMb(): number }, targets: { url: string; job: boolean }[], auth: Record<string, string>, idleMs: number) {
  await sleep(FLUSH_MS);
  const before = proc.rssMb();
  const streams = await openAll(targets, auth);
  try {
    await sleep(idleMs);
    return { before, after: proc.rssMb() };
  } finally {
    for (const s of streams) s.req.destroy();
  }
}

export async function watchers(
  env: Record<string, string>, db: BenchDb, tenant: Tenant,
  opts: { watchers: number; jobs: number; feeds: number; idleSeconds: number; model: string },
): Promise<WatcherFigures> {
  const limit = openFilesLimit();
  // Each stream is a socket in this process and one in the api's (separate processes, same limit).
  if (limit < opts.watchers + 1024) throw new Error(`open files limit ${limit} is below ${opts.watchers + 1024}: raise it (ulimit -n) or lower BENCH_WATCHERS`);
  const heartbeatMs = 15_000;
  // Last-use times written within a second of the last connection, so that write is not in the idle window.
  const apiEnv = { ...env, SSE_HEARTBEAT_MS: String(heartbeatMs), SSE_MAX_STREAMS_PER_TENANT: String(opts.watchers * 2), KEY_LAST_USED_FLUSH_MS: '1000' };
  const idleMs = opts.idleSeconds * 1000;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const api = await startApi(apiEnv);
  const streams: Stream[] = [];
  const jobIds: string[] = [];
  try {
    const csv = csvHeader() + csvRows(1);
    for (let i = 0; i < opts.jobs; i++) {
      const r = await request(`${api.url}/v1/jobs?model=${opts.model}`, { method: 'POST', headers: { ...tenant.auth, 'content-type': 'text/csv' }, body: csv });
      if (r.status !== 202) throw new Error(`job submission failed: ${r.status} ${r.body}`);
      jobIds.push(JSON.parse(r.body).id);
    }
    log(`watchers: ${opts.jobs} queued jobs; idle ${opts.idleSeconds} s without watchers…`);
    const before = await idleWindow(admin, db.name, idleMs, () => api.rssMb());

    const perJob = Math.floor((opts.watchers - opts.feeds) / opts.jobs);
    const targets = (base: string) => [
      ...jobIds.flatMap((id) => Array.from({ length: perJob }, () => ({ url: `${base}/v1/jobs/${id}/events`, job: true }))),
      ...Array.from({ length: opts.watchers - perJob * opts.jobs }, () => ({ url: `${base}/v1/events`, job: false })),
    ];
    log(`watchers: opening ${opts.watchers} streams (${perJob} on each of ${opts.jobs} jobs, ${opts.watchers - perJob * opts.jobs} on /v1/events)…`);
    const started = performance.now();
    streams.push(...(await openAll(targets(api.url), tenant.auth)));
    const connectSeconds = (performance.now() - started) / 1000;
    const eventsAtConnect = streams.reduce((a, s) => a + s.events, 0);
    log(`watchers: ${streams.length} open in ${round(connectSeconds, 1)} s; idle ${opts.idleSeconds} s with them…`);
    const after = await idleWindow(admin, db.name, idleMs, () => api.rssMb());
    const idleEvents = streams.reduce((a, s) => a + s.events, 0) - eventsAtConnect;
    const heartbeats = streams.reduce((a, s) => a + s.heartbeats, 0);
    for (const s of streams.splice(0)) s.req.destroy();

    log('watchers: the same streams on a bare node:http server…');
    const floorProc = startProcess('scripts/bench/sseFloorServer.ts', {});
    const floorUrl = `http://127.0.0.1:${Number((await floorProc.ready()).port)}/`;
    const floor = await rssHolding(floorProc, targets(api.url).map((t) => ({ ...t, url: floorUrl })), {}, idleMs).finally(() => floorProc.stop());
    return {
      watchers: opts.watchers, jobs: opts.jobs, perJob, feeds: opts.watchers - perJob * opts.jobs, openFilesLimit: limit, connectSeconds,
      rssBeforeMb: before.rssLastMb, rssAfterMb: after.rssLastMb, rssAfterMinMb: after.rssMinMb, kbPerWatcher: ((after.rssLastMb - before.rssLastMb) * 1024) / opts.watchers,
      floorRssBeforeMb: floor.before, floorRssAfterMb: floor.after,
      idleSeconds: (idleMs + FLUSH_MS) / 1000, idleTransactionsWithout: before.transactions, idleTransactionsWith: after.transactions, idleEvents, heartbeats, heartbeatMs,
    };
  } finally {
    for (const s of streams) s.req.destroy();
    for (const id of jobIds) await request(`${api.url}/v1/jobs/${id}/cancel`, { method: 'POST', headers: tenant.auth }).catch(() => {});
    await admin.end();
    await api.stop();
  }
}
