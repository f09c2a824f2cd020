// Traces in `npm run bench` (issue 17): where a lone single prediction's time goes, hop by hop, read
// from the spans of real api and worker processes with tracing on; and the tracing variant of the
// observability overhead run (scripts/bench/observability.ts). The processes export by OTLP/HTTP
// JSON (OTEL_EXPORTER_OTLP_PROTOCOL=http/json) to a tiny receiver in this process: nothing else to run.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { COLUMNS, median, percentile, request, rng, startApi, startWorker, type Proc, type Tenant } from './common.js';
import type { ObservabilityVariant } from './observability.js';

// ---------------------------------------------------------------- spans

/** A finished span, as the hop table reads it (from OTLP JSON, or an in-process ReadableSpan). */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP's numbering: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  /** Wall-clock milliseconds (Unix epoch, fractional). */
  startMs: number;
  endMs: number;
  attributes: Record<string, unknown>;
  /** The resource's service.name (sluice-api, sluice-worker). */
  service?: string;
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

interface OtlpValue { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean }
interface OtlpAttribute { key: string; value: OtlpValue }
interface OtlpSpan {
  traceId: string; spanId: string; parentSpanId?: string; name: string; kind?: number;
  startTimeUnixNano: string | number; endTimeUnixNano: string | number; attributes?: OtlpAttribute[];
}
interface OtlpExport { resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[] }

const valueOf = (v: OtlpValue) => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.doubleValue ?? v.boolValue);
const attributesOf = (a: OtlpAttribute[] = []) => Object.fromEntries(a.map((x) => [x.key, valueOf(x.value)]));
// Nanoseconds since the epoch exceed 2^53: split so the milliseconds keep their microseconds.
const nanosToMs = (n: string | number) => {
  const s = String(n);
  return s.length > 6 ? Number(s.slice(0, -6)) + Number(s.slice(-6)) / 1e6 : Number(s) / 1e6;
};

/** The spans of one OTLP/JSON export request (ids in hex, as the OTLP JSON encoding has them). */
export function spansFromOtlpJson(body: OtlpExport): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = attributesOf(rs.resource?.attributes)['service.name'] as string | undefined;
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, kind: s.kind ?? 1,
          startMs: nanosToMs(s.startTimeUnixNano), endMs: nanosToMs(s.endTimeUnixNano), attributes: attributesOf(s.attributes), service,
        });
      }
    }
  }
  return out;
}

/** An OTLP/HTTP receiver for JSON on 127.0.0.1 (a free port): keeps every span it is sent. */
export async function startOtlpReceiver(): Promise<{ endpoint: string; spans: SpanRecord[]; reset(): void; close(): Promise<void> }> {
  const spans: SpanRecord[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces' && /json/.test(req.headers['content-type'] ?? '')) {
        try {
          spans.push(...spansFromOtlpJson(JSON.parse(Buffer.concat(parts).toString('utf8'))));
        } catch {
          res.writeHead(400).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    reset: () => void spans.splice(0),
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** The environment that turns tracing on in the bench's processes, exporting to `endpoint`. */
export function tracingEnv(endpoint: string): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    // Batches sent every half second, room for bursts: no span dropped while the bench runs.
    OTEL_BSP_SCHEDULE_DELAY: '500',
    OTEL_BSP_MAX_QUEUE_SIZE: '65536',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048',
  };
}

/** The tracing variant of the observability run: metrics off as in the plain run, tracing on. */
export function tracingVariant(endpoint: string): ObservabilityVariant {
  return { name: 'tracing', label: 'tracing on (OTLP/HTTP to a local receiver), metrics off', env: { METRICS_ENABLED: 'false', ...tracingEnv(endpoint) } };
}

// ---------------------------------------------------------------- the hop table

export const HOPS = [
  { key: 'httpIn', name: 'HTTP in', what: 'arrival → the group commit starts: routing, body parsing, authentication, the model lookup (cached)' },
  { key: 'groupCommit', name: 'group commit', what: 'the job and its chunk INSERTed and COMMITted (`prediction.store`; alone, no group to wait for)' },
  { key: 'enqueue', name: 'enqueue', what: 'the BullMQ add, the api\'s Redis round trip (`prediction.enqueue`)' },
  { key: 'pickUp', name: 'worker pick-up', what: 'the add answered → the worker starts on the chunk (its blocking fetch wakes, the job moves to active)' },
  { key: 'load', name: 'load', what: 'the chunk and its job read from Postgres (`chunk.load`; none when the records rode in the queue)' },
  { key: 'inference', name: 'inference', what: 'model cache lookup, the dynamic batcher, the thread hop to onnxruntime and back (`chunk.inference`)' },
  { key: 'commit', name: 'commit', what: 'results, done-mark and counters committed in the worker\'s group commit (`chunk.commit`)' },
  { key: 'publish', name: 'publish', what: 'the wake-up PUBLISH, the worker\'s Redis round trip (`chunk.publish`)' },
  { key: 'wake', name: 'wake', what: 'the PUBLISH sent → the waiting request woken in the api (`job.wait` ends); overlaps publish' },
  { key: 'response', name: 'response', what: 'woken → the answer\'s last byte: the result decoded, formatted and written (`prediction.respond`)' },
] as const;
export type HopKey = (typeof HOPS)[number]['key'];

export interface TraceHops {
  /** Traces (requests) the medians are over. */
  traces: number;
  /** Each hop's median and 90th percentile (ms) and when it ends, as the median ms after the request arrived. */
  hops: { key: HopKey; name: string; what: string; ms: number; p90: number; endsAtMs: number; n: number }[];
  /** The server span: arrival → last byte, median ms. */
  request: number;
  /** What the client measured (send → answer read), median ms, when the caller timed it. */
  client?: number;
  /** The span counts a traced prediction made, median per trace (all spans of the trace, both processes). */
  spansPerTrace: number;
}

/**
 * The hops of every traced POST /v1/predictions among `spans` (one trace each), and their medians.
 * Times from different processes are compared on the wall clock (one machine: same clock).
 */
export function traceHopTable(spans: SpanRecord[]): TraceHops {
  const byTrace = new Map<string, SpanRecord[]>();
  for (const s of spans) {
    const list = byTrace.get(s.traceId);
    if (list) list.push(s);
    else byTrace.set(s.traceId, [s]);
  }
  const values = new Map<HopKey, { ms: number[]; end: number[] }>(HOPS.map((h) => [h.key, { ms: [], end: [] }]));
  const requests: number[] = [];
  const counts: number[] = [];
  for (const trace of byTrace.values()) {
    const server = trace.find((s) => s.kind === SPAN_KIND.server && (s.attributes['http.route'] === '/v1/predictions' || s.name === 'POST /v1/predictions'));
    if (!server) continue;
    const child = (parent: SpanRecord | undefined, test: (s: SpanRecord) => boolean) => (parent ? trace.find((s) => s.parentSpanId === parent.spanId && test(s)) : undefined);
    const named = (parent: SpanRecord | undefined, name: string) => child(parent, (s) => s.name === name);
    const store = named(server, 'prediction.store');
    const enqueue = named(server, 'prediction.enqueue');
    const add = child(enqueue, (s) => s.kind === SPAN_KIND.producer);
    const processed = child(add, (s) => s.kind === SPAN_KIND.consumer);
    const load = named(processed, 'chunk.load');
    const inference = named(processed, 'chunk.inference');
    const commit = named(processed, 'chunk.commit');
    const publish = named(processed, 'chunk.publish');
    const wait = named(server, 'job.wait');
    // A request that timed out or was not traced whole (a span lost) says nothing of the path.
    if (!store || !enqueue || !add || !processed || !inference || !commit || !publish || !wait || wait.attributes['sluice.woken'] === false) continue;
    const t0 = server.startMs;
    const put = (key: HopKey, ms: number, end: number) => (values.get(key)!.ms.push(ms), values.get(key)!.end.push(end - t0));
    put('httpIn', store.startMs - t0, store.startMs);
    put('groupCommit', store.endMs - store.startMs, store.endMs);
    put('enqueue', enqueue.endMs - enqueue.startMs, enqueue.endMs);
    // From spans timed by Sluice to the microsecond (BullMQ's own start at whole milliseconds).
    const begun = (load ?? inference).startMs;
    put('pickUp', begun - enqueue.endMs, begun);
    if (load) put('load', load.endMs - load.startMs, load.endMs);
    put('inference', inference.endMs - inference.startMs, inference.endMs);
    put('commit', commit.endMs - commit.startMs, commit.endMs);
    put('publish', publish.endMs - publish.startMs, publish.endMs);
    put('wake', wait.endMs - publish.startMs, wait.endMs);
    put('response', server.endMs - wait.endMs, server.endMs);
    requests.push(server.endMs - t0);
    counts.push(trace.length);
  }
  return {
    traces: requests.length,
    hops: HOPS.map((h) => {
      const v = values.get(h.key)!;
      return { key: h.key, name: h.name, what: h.what, ms: v.ms.length ? median(v.ms) : NaN, p90: percentile(v.ms, 90), endsAtMs: v.end.length ? median(v.end) : NaN, n: v.ms.length };
    }),
    request: requests.length ? median(requests) : NaN,
    spansPerTrace: counts.length ? median(counts) : NaN,
  };
}

const fmt = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));

/** The hop table as markdown (docs/benchmarks.md). */
export function renderTraceHops(t: TraceHops): string {
  const rows = t.hops.map((h) => `| ${h.name} | ${h.n ? fmt(h.ms) : '—'} | ${h.n ? fmt(h.p90) : '—'} | ${h.n ? fmt(h.endsAtMs) : '—'} | ${h.what} |`);
  return [
    '| hop | median ms | p90 ms | ends at (median ms after arrival) | what it covers |',
    '| --- | ---: | ---: | ---: | --- |',
    ...rows,
    `| **whole request** (server span) | **${fmt(t.request)}** | | | arrival → last byte, in the api |`,
    ...(t.client !== undefined ? [`| as the client saw it | ${fmt(t.client)} | | | send → answer read, one client, back to back |`] : []),
  ].join('\n');
}

// ---------------------------------------------------------------- the measurement

/**
 * An api and one worker with tracing on, `warmup` predictions, then `requests` sequential ones
 * (one client, back to back: each is alone in the system); the processes are stopped (which sends
 * their last spans) and the table is taken of the measured requests' traces.
 */
export async function measureTracedHops(env: Record<string, string>, t: Tenant, opts: { requests?: number; warmup?: number; model?: string } = {}): Promise<TraceHops> {
  const requests = opts.requests ?? 300;
  const warmup = opts.warmup ?? 50;
  const receiver = await startOtlpReceiver();
  const traced = { ...env, ...tracingEnv(receiver.endpoint) };
  const api = await startApi(traced);
  const procs: Proc[] = [api];
  const r = rng(11);
  const latencies: number[] = [];
  let measuredFrom = 0;
  try {
    procs.push(await startWorker(traced));
    for (let i = 0; i < warmup + requests; i++) {
      if (i === warmup) measuredFrom = performance.timeOrigin + performance.now();
      const body = JSON.stringify({ model: opts.model ?? 'bench', wait: 10, inputs: [Object.fromEntries(COLUMNS.map((c) => [c, Number(((r() - 0.5) * 8).toFixed(4))]))] });
      const t0 = performance.now();
      const res = await request(`${api.url}/v1/predictions`, { method: 'POST', headers: { ...t.auth, 'content-type': 'application/json' }, body });
      if (res.status !== 200) throw new Error(`a traced prediction answered ${res.status}: ${res.body.slice(0, 300)}`);
      if (i >= warmup) latencies.push(performance.now() - t0);
    }
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await receiver.close();
  }
  // Only the measured requests' traces: those whose server span began after the warm-up.
  const measured = new Set(receiver.spans.filter((s) => s.kind === SPAN_KIND.server && s.startMs >= measuredFrom - 1).map((s) => s.traceId));
  const table = traceHopTable(receiver.spans.filter((s) => measured.has(s.traceId)));
  return { ...table, client: median(latencies) };
}

/** docs/benchmarks.md's section: the hop table, with what it was taken of. `plainLoneP50`: the untraced lone p50 of the same run. */
export function renderTracingSection(t: TraceHops, plainLoneP50?: number): string {
  return `## A lone prediction, hop by hop, from its trace (issue 17)

Tracing on (OTLP/HTTP JSON to a receiver inside the bench), an api and one worker process,
${t.traces} predictions one at a time after a warm-up (\`scripts/bench/tracing.ts\`, \`traceHopTable\`):
each hop's median over the traces, from spans timed to the microsecond (the api's and the worker's
on the same machine clock). Rows follow the path; publish and wake overlap (the message reaches the
api while the worker still waits for Redis's reply), so the hops do not sum to the whole. A traced
prediction makes ${fmt(t.spansPerTrace, 0)} spans. Lone p50 as the client saw it: ${fmt(t.client)} ms with
tracing on${plainLoneP50 !== undefined && Number.isFinite(plainLoneP50) ? `, ${fmt(plainLoneP50)} ms without (one client, back to back, under "Single items")` : ''}.

${renderTraceHops(t)}
`;
}
