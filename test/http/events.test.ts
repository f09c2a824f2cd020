import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { createParser } from 'eventsource-parser';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { jobProgressChannel } from '../../src/queue/queues.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { apiForTenant, type ApiForTenant } from '../helpers/api.js';
import { expectProblem } from '../helpers/problem.js';
import { startWorkerInProcess } from '../helpers/worker.js';

// Live progress over Server-Sent Events (docs/events.md): GET /v1/jobs/{id}/events and GET
// /v1/events against the in-process api, with real workers, Postgres and Redis. What would break:
// events out of order or lost across a reconnection, a stream that does not end after its final
// event, another tenant's job shown, heartbeats missing, or idle watchers reading Postgres.

const HEARTBEAT_MS = 300;
const CHUNK_ROWS = 50;
const HEADER = 'a,b\n';
const rows = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `${from + i},${(from + i) % 7}\n`).join('');

interface Ev {
  type: string;
  id: string;
  job: any;
  at: number;
}

/** One SSE connection, parsed by eventsource-parser as a client would; events and heartbeats kept in arrival order. */
async function openSse(base: string, key: string, path: string, headers: Record<string, string> = {}) {
  const ctrl = new AbortController();
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...headers }, signal: ctrl.signal });
  const events: Ev[] = [];
  let comments = 0;
  let ended = false;
  let wake: () => void = () => {};
  let changed = new Promise<void>((r) => (wake = r));
  const poke = () => {
    const w = wake;
    changed = new Promise<void>((r) => (wake = r));
    w();
  };
  const parser = createParser({
    onEvent: (e) => (events.push({ type: e.event ?? 'message', id: e.id ?? '', job: JSON.parse(e.data), at: performance.now() }), poke()),
    onComment: () => (comments++, poke()),
  });
  const pump = (async () => {
    if (!res.ok || !res.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch {
      // aborted by close()
    }
  })().finally(() => ((ended = true), poke()));
  let taken = 0;
  /** Resolves when `ready()` holds; a bound (not a pause) so a broken stream fails with a message. */
  const until = async (ready: () => boolean, what: string, ms = 20_000) => {
    const deadline = performance.now() + ms;
    while (!ready()) {
      if (ended) throw new Error(`${path}: the stream ended while waiting for ${what}; got ${JSON.stringify(events.map((e) => [e.type, e.id]))}`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((_, reject) => (timer = setTimeout(() => reject(new Error(`${path}: no ${what} within ${ms} ms`)), deadline - performance.now())));
      try {
        await Promise.race([changed, timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
  };
  return {
    res,
    events,
    get comments() {
      return comments;
    },
    /** The next event not yet taken. */
    async next(): Promise<Ev> {
      await until(() => events.length > taken, 'event');
      return events[taken++];
    },
    /** Waits for `n` more heartbeats from now. */
    async heartbeats(n: number) {
      const target = comments + n;
      await until(() => comments >= target, `${n} heartbeat(s)`);
    },
    /** Every event until the server ends the stream. */
    async rest(): Promise<Ev[]> {
      await pump;
      const out = events.slice(taken);
      taken = events.length;
      return out;
    },
    get ended() {
      return ended;
    },
    close() {
      ctrl.abort();
    },
  };
}

/** A CSV upload whose bytes the test sends piece by piece, so chunks are stored (and scored) when it says. */
function streamingUpload(base: string, key: string, path: string) {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const response = fetch(base + path, { method: 'POST', body, duplex: 'half', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' } } as RequestInit);
  return { response, send: (s: string) => controller.enqueue(new TextEncoder().encode(s)), end: () => controller.close() };
}

const pos = (id: string) => id.split('-').map(Number) as [number, number];
const later = (a: string, b: string) => {
  const [ra, ca] = pos(a);
  const [rb, cb] = pos(b);
  return ra !== rb ? ra > rb : ca > cb;
};

let t: ApiForTenant;
let key: string;
let url: string;
let validJob: (x: unknown) => boolean;

beforeAll(async () => {
  t = await apiForTenant({ CHUNK_ROWS: String(CHUNK_ROWS), SSE_HEARTBEAT_MS: String(HEARTBEAT_MS), KEY_LAST_USED_FLUSH_MS: '3600000', WORKER_CONCURRENCY: '1' });
  url = t.api.url;
  key = (await createKey(t.env.pool, 'acme')).key;
  expect((await t.c.registerModel('m', linearRegression([1, 2], 0), { columns: ['a', 'b'], task: 'regression' })).status).toBe(201);
  // Every event's data is the Job of the OpenAPI document.
  const doc = await (await fetch(`${url}/openapi.json`)).json();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as { default: (a: Ajv2020) => void }).default?.(ajv) ?? (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema({ $id: 'sluice', components: doc.components });
  const validate = ajv.compile({ $ref: 'sluice#/components/schemas/Job' });
  validJob = (x) => validate(x) || (console.error(ajv.errorsText(validate.errors)), false);
});
afterAll(() => t?.close());

const getJob = async (id: string) => (await t.c.get(`/v1/jobs/${id}`)).json();

it('a multi-chunk job: status first, progress in order at most every 500 ms, the final event last, then the stream ends', async () => {
  const worker = await startWorkerInProcess(t.env.env, { CHUNK_ROWS: String(CHUNK_ROWS) });
  try {
    const feed = await openSse(url, key, '/v1/events');
    const upload = streamingUpload(url, key, '/v1/jobs?model=m');
    upload.send(HEADER + rows(CHUNK_ROWS));
    // The job's first chunk is scored while the upload goes on; the tenant's feed names the job.
    const news = await feed.next();
    expect(news.type).toBe('status');
    const id = news.job.id;

    const s = await openSse(url, key, `/v1/jobs/${id}/events`);
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(s.res.headers.get('cache-control')).toMatch(/no-cache/);
    expect(s.res.headers.get('x-accel-buffering')).toBe('no');
    const first = await s.next();
    expect(first).toMatchObject({ type: 'status', id: `0-1`, job: { id, status: 'receiving', progress: { rows_done: CHUNK_ROWS, rows_total: null, fraction: null } } });
    expect(first.job.progress.rate_rows_per_second).toBeGreaterThan(0);

    // Each further chunk, sent only once the last one was told: one progress event each.
    for (let k = 2; k <= 4; k++) {
      upload.send(rows(CHUNK_ROWS, (k - 1) * CHUNK_ROWS));
      const e = await s.next();
      expect(e).toMatchObject({ type: 'progress', id: `0-${k}`, job: { status: 'receiving', progress: { rows_done: k * CHUNK_ROWS } } });
    }
    upload.send(rows(20, 4 * CHUNK_ROWS));
    upload.end();
    expect((await upload.response).status).toBe(202);

    const all = [...s.events.slice(0, 4), ...(await s.rest())];
    expect(s.ended).toBe(true);
    const last = all.at(-1)!;
    expect(last.type).toBe('completed');
    expect(last.id).toBe('3-5');
    expect(all.filter((e) => ['completed', 'failed', 'cancelled'].includes(e.type))).toHaveLength(1);
    // The final event carries the job exactly as GET /v1/jobs/{id} shows it.
    expect(last.job).toEqual(await getJob(id));
    expect(last.job.progress).toMatchObject({ fraction: 1, rows_done: 220, rows_total: 220, eta_seconds: 0 });
    for (let i = 1; i < all.length; i++) {
      expect(later(all[i].id, all[i - 1].id), `${all[i - 1].id} then ${all[i].id}`).toBe(true);
      expect(all[i].job.progress.rows_done).toBeGreaterThanOrEqual(all[i - 1].job.progress.rows_done);
      if (all[i].type === 'progress') expect(all[i].at - all[i - 1].at).toBeGreaterThanOrEqual(400);
    }
    for (const e of all) expect(validJob(e.job), `${e.type} ${e.id}`).toBe(true);
    // Every change of status was an event of its own, never a progress event.
    for (let i = 1; i < all.length; i++) if (all[i].job.status !== all[i - 1].job.status) expect(all[i].type).not.toBe('progress');
    feed.close();
  } finally {
    await worker.close();
  }
});

it('reconnecting with Last-Event-ID loses nothing: what was seen is not sent again, and an end reached while away arrives', async () => {
  // No worker yet: the job waits, queued.
  const job = await (await t.c.postCsv('/v1/jobs?model=m', HEADER + rows(120))).json();
  const s1 = await openSse(url, key, `/v1/jobs/${job.id}/events`);
  const seen = await s1.next();
  expect(seen).toMatchObject({ type: 'status', id: '1-0', job: { status: 'queued', progress: { rows_done: 0, rows_total: 120, rate_rows_per_second: null, eta_seconds: null } } });
  s1.close();

  // Back at the state already seen: nothing is sent (a heartbeat comes first, no event).
  const s2 = await openSse(url, key, `/v1/jobs/${job.id}/events`, { 'last-event-id': seen.id });
  await s2.heartbeats(1);
  expect(s2.events).toHaveLength(0);
  s2.close();

  // The job runs to its end while nobody watches.
  const worker = await startWorkerInProcess(t.env.env, { CHUNK_ROWS: String(CHUNK_ROWS) });
  try {
    expect((await t.c.waitForJob(job.id)).status).toBe('completed');
  } finally {
    await worker.close();
  }
  const s3 = await openSse(url, key, `/v1/jobs/${job.id}/events`, { 'last-event-id': seen.id });
  const missed = await s3.rest();
  expect(missed.map((e) => [e.type, e.id])).toEqual([['completed', '3-3']]);
  expect(missed[0].job).toEqual(await getJob(job.id));

  // A client that saw the end and comes back anyway is told the end again, and the stream ends.
  const s4 = await openSse(url, key, `/v1/jobs/${job.id}/events`, { 'last-event-id': '3-3' });
  expect((await s4.rest()).map((e) => e.type)).toEqual(['completed']);
  // A fresh connection to a finished job: its final event alone.
  const s5 = await openSse(url, key, `/v1/jobs/${job.id}/events`);
  expect((await s5.rest()).map((e) => e.type)).toEqual(['completed']);
});

it("another tenant's job is 404, as everywhere; an unknown job is 404 and a malformed id 400", async () => {
  const job = await (await t.c.postCsv('/v1/jobs?model=m', HEADER + rows(3))).json();
  const other = (await createKey(t.env.pool, 'globex')).key;
  const res = await fetch(`${url}/v1/jobs/${job.id}/events`, { headers: { authorization: `Bearer ${other}` } });
  await expectProblem(res, 404, 'job_not_found');
  await expectProblem(await fetch(`${url}/v1/jobs/${randomUUID()}/events`, { headers: { authorization: `Bearer ${key}` } }), 404, 'job_not_found');
  await expectProblem(await fetch(`${url}/v1/jobs/nope/events`, { headers: { authorization: `Bearer ${key}` } }), 400, 'validation_failed');
  await expectProblem(await fetch(`${url}/v1/events`), 401, 'unauthorized');
  await t.c.post(`/v1/jobs/${job.id}/cancel`);
});

it("GET /v1/events sees the tenant's jobs end (a batch job and a single prediction), and another tenant's feed sees neither", async () => {
  const feed = await openSse(url, key, '/v1/events');
  const otherFeed = await openSse(url, (await createKey(t.env.pool, 'initech')).key, '/v1/events');
  const worker = await startWorkerInProcess(t.env.env, { CHUNK_ROWS: String(CHUNK_ROWS) });
  try {
    const batch = await (await t.c.postCsv('/v1/jobs?model=m', HEADER + rows(120))).json();
    const online = await (await t.c.postJson('/v1/predictions', { model: 'm', inputs: [{ a: 1, b: 2 }], wait: 10 })).json();
    expect(online.status).toBe('completed');
    const finals = new Map<string, Ev>();
    const byJob = new Map<string, string[]>();
    while (finals.size < 2) {
      const e = await feed.next();
      byJob.set(e.job.id, [...(byJob.get(e.job.id) ?? []), e.type]);
      if (['completed', 'failed', 'cancelled'].includes(e.type)) finals.set(e.job.id, e);
    }
    expect([...finals.keys()].sort()).toEqual([batch.id, online.id].sort());
    expect(finals.get(batch.id)!.job).toEqual(await getJob(batch.id));
    // The prediction's end is read from the worker's message, yet shows what GET shows.
    expect(finals.get(online.id)!.job).toEqual(await getJob(online.id));
    // A single prediction has no progress to tell: its end is its only event.
    expect(byJob.get(online.id)).toEqual(['completed']);
    expect(feed.ended).toBe(false);
    await otherFeed.heartbeats(1);
    expect(otherFeed.events).toHaveLength(0);
  } finally {
    feed.close();
    otherFeed.close();
    await worker.close();
  }
});

it('heartbeats arrive every SSE_HEARTBEAT_MS on both streams', async () => {
  const job = await (await t.c.postCsv('/v1/jobs?model=m', HEADER + rows(3))).json();
  const s = await openSse(url, key, `/v1/jobs/${job.id}/events`);
  const feed = await openSse(url, key, '/v1/events');
  await s.next();
  const started = performance.now();
  await Promise.all([s.heartbeats(3), feed.heartbeats(3)]);
  // Three beats take at least two intervals (the first may come at once).
  expect(performance.now() - started).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS - 50);
  s.close();
  feed.close();
  await t.c.post(`/v1/jobs/${job.id}/cancel`);
});

it('idle watchers make no Postgres query; a message reads only the job it names, coalesced', async () => {
  const job = await (await t.c.postCsv('/v1/jobs?model=m', HEADER + rows(120))).json();
  const tenant = (await t.env.pool.query(`SELECT tenant_id FROM jobs WHERE id = $1`, [job.id])).rows[0].tenant_id;
  const streams = await Promise.all(Array.from({ length: 40 }, () => openSse(url, key, `/v1/jobs/${job.id}/events`)));
  const feeds = await Promise.all(Array.from({ length: 5 }, () => openSse(url, key, '/v1/events')));
  await Promise.all(streams.map((s) => s.next()));
  // Every statement of the api goes through its pool: count the checkouts from now on.
  let queries = 0;
  const pool = t.api.lookups.pool;
  const count = () => queries++;
  pool.on('acquire', count);
  const redis = new Redis(t.env.env.REDIS_URL);
  try {
    await streams[0].heartbeats(3);
    expect(queries).toBe(0);

    // News of a job nobody here watches, of another tenant: dropped unread.
    const channel = jobProgressChannel(t.env.env.REDIS_PREFIX);
    await redis.publish(channel, JSON.stringify([{ id: randomUUID(), tenant: randomUUID(), status: 'running', chunks_done: 1, rows_done: 50, rows_total: 100 }]));
    await streams[0].heartbeats(2);
    expect(queries).toBe(0);

    // Ten messages in a burst naming the watched job (as chunks done would): read at once, then once
    // more PROGRESS_INTERVAL_MS later for all the rest.
    for (let i = 1; i <= 10; i++) await redis.publish(channel, JSON.stringify([{ id: job.id, tenant, status: 'queued', chunks_done: i, rows_done: 0, rows_total: 120 }]));
    await vi.waitFor(() => expect(queries).toBeGreaterThanOrEqual(1), { timeout: 5000 });
    await streams[0].heartbeats(3);
    expect(queries).toBeLessThanOrEqual(2);
    // Nothing changed in the job, so no watcher was sent anything.
    for (const s of streams) expect(s.events).toHaveLength(1);
  } finally {
    pool.off('acquire', count);
    redis.disconnect();
    for (const s of [...streams, ...feeds]) s.close();
    await t.c.post(`/v1/jobs/${job.id}/cancel`);
  }
});

describe('SSE_MAX_STREAMS_PER_TENANT', () => {
  let small: ApiForTenant;
  beforeAll(async () => {
    small = await apiForTenant({ SSE_MAX_STREAMS_PER_TENANT: '2' });
  });
  afterAll(() => small?.close());

  it('a tenant holding its streams gets 429 for one more, and room again when one closes', async () => {
    const k = (await createKey(small.env.pool, 'acme')).key;
    const a = await openSse(small.api.url, k, '/v1/events');
    const b = await openSse(small.api.url, k, '/v1/events');
    expect([a.res.status, b.res.status]).toEqual([200, 200]);
    const refused = await fetch(`${small.api.url}/v1/events`, { headers: { authorization: `Bearer ${k}` } });
    expect(refused.headers.get('retry-after')).toBe('5');
    await expectProblem(refused, 429, 'rate_limited');
    a.close();
    await vi.waitFor(async () => {
      const again = await openSse(small.api.url, k, '/v1/events');
      again.close();
      expect(again.res.status).toBe(200);
    }, { timeout: 5000 });
    b.close();
  });
});
