import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, INVALID_SPAN_CONTEXT, SpanKind, trace, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { loadConfig } from '../../src/config.js';
import { createGroupCommitter } from '../../src/jobs/groupCommit.js';
import { QUEUES } from '../../src/queue/queues.js';
import { createRedis } from '../../src/queue/redis.js';
import { traceLogMixin } from '../../src/tracing/logFields.js';
import { tracer } from '../../src/tracing/spans.js';
import { tracingOn } from '../../src/tracing/state.js';
import { installInMemoryTracing, type InMemoryTracing } from '../../src/tracing/testing.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv } from '../helpers/env.js';
import { closeWorkersInProcess, startWorkerInProcess } from '../helpers/worker.js';

// Traces (issue 17): one trace follows a job from the HTTP request across the queue into the
// worker's chunk (load, inference, commit, publish) and on to its webhook delivery; with tracing
// off nothing asks for a span at all. The api and a worker run in this process, on one in-memory
// exporter, so the test sees both sides of the queue.

const sig = { columns: ['a', 'b'], task: 'regression' };
const model = linearRegression([1, 2], 0.5);

/** The api and worker of one test database, and an HTTP client for its tenant. */
async function stack(overrides: Record<string, string> = {}) {
  const env = await createTestEnv({ INFERENCE_THREADS: '1', CHUNK_ROWS: '5', ...overrides });
  const api = await startInProcessApi(env.config);
  const c = client(api.url, (await createKey(env.pool, 'acme')).key);
  expect((await c.registerModel('lin', model, sig)).status).toBe(201);
  const connection = createRedis(env.config);
  let worker: ReturnType<typeof startWorkerInProcess> | undefined;
  const queues = [QUEUES.predict, QUEUES.interactive].map((q) => new Queue(q, { connection, prefix: env.config.redisPrefix }));
  return {
    env, api, c,
    /** Every chunk job waiting in Redis (no worker runs yet): what the api put there. */
    waitingJobs: async () => (await Promise.all(queues.map((q) => q.getJobs(['waiting'])))).flat(),
    /** Starts the worker (once). */
    startWorker: () => (worker ??= startWorkerInProcess(env.env)),
    async close() {
      await closeWorkersInProcess();
      await Promise.all(queues.map((q) => q.close()));
      connection.disconnect();
      await api.close();
      await env.close();
    },
  };
}

const csv = (rows: number) => `a,b\n${Array.from({ length: rows }, (_, i) => `${i},${i + 1}`).join('\n')}\n`;

describe('when tracing is on (src/config.ts)', () => {
  const on = (env: Record<string, string>) => loadConfig(env).tracing.enabled;
  it('only when an OTLP endpoint or a traces exporter is named, never with the SDK disabled', () => {
    expect(on({})).toBe(false);
    expect(on({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toBe(false);
    expect(on({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' })).toBe(true);
    expect(on({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(on({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(on({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' })).toBe(false);
    expect(on({ OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' })).toBe(false);
    expect(on({ OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' })).toBe(true);
    expect(loadConfig({ OTEL_SERVICE_NAME: 'sluice-eu' }).tracing.serviceName).toBe('sluice-eu');
  });
});

describe('tracing off (no OTEL_* variables)', () => {
  it('asks for no span anywhere and puts no trace context in the queue', async () => {
    // Whatever provider is registered, code with tracing off must not call it: this one counts.
    const asked: string[] = [];
    const counting: Tracer = {
      startSpan: (name: string) => (asked.push(name), trace.wrapSpanContext(INVALID_SPAN_CONTEXT)),
      startActiveSpan: ((name: string, ...rest: unknown[]) => (asked.push(name), (rest.at(-1) as (s: Span) => unknown)(trace.wrapSpanContext(INVALID_SPAN_CONTEXT)))) as Tracer['startActiveSpan'],
    };
    const provider: TracerProvider = { getTracer: () => counting };
    trace.setGlobalTracerProvider(provider);
    const s = await stack();
    try {
      expect(s.env.config.tracing.enabled).toBe(false);
      expect(tracingOn()).toBe(false);
      const upload = await s.c.postCsv('/v1/jobs?model=lin', csv(12));
      expect(upload.status).toBe(202);
      const queued = await s.waitingJobs();
      expect(queued.length).toBe(3);
      for (const j of queued) expect(j.opts.telemetry).toBeUndefined();
      await s.startWorker();
      expect((await s.c.waitForJob((await upload.json()).id)).status).toBe('completed');
      const res = await s.c.postJson('/v1/predictions', { model: 'lin', inputs: [{ a: 1, b: 2 }], wait: 10 });
      expect(res.status).toBe(200);
      expect(traceLogMixin()).toBeUndefined();
      expect(asked).toEqual([]);
    } finally {
      await s.close();
      trace.disable();
    }
  });
});

describe('tracing on', () => {
  let tracing: InMemoryTracing;
  let s: Awaited<ReturnType<typeof stack>>;
  let receiver: http.Server;
  let hookUrl: string;
  const hooks: string[] = [];

  beforeAll(async () => {
    tracing = await installInMemoryTracing();
    receiver = http.createServer((req, res) => {
      hooks.push(req.headers['webhook-id'] as string);
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    s = await stack();
  });
  afterAll(async () => {
    await s?.close();
    receiver?.close();
    await tracing?.uninstall();
  });

  const byId = () => new Map(tracing.spans().map((x) => [x.spanContext().spanId, x]));
  /** The span's ancestors, nearest first, as far as they were recorded. */
  const ancestors = (span: ReadableSpan): ReadableSpan[] => {
    const spans = byId();
    const out: ReadableSpan[] = [];
    for (let p = span.parentSpanContext && spans.get(span.parentSpanContext.spanId); p; p = p.parentSpanContext && spans.get(p.parentSpanContext.spanId)) out.push(p);
    return out;
  };
  /** The server span of the one request to `route` (of one of `traceIds`), once it has ended: it ends as the answer's last byte goes. */
  const serverSpan = (route: string, traceIds?: Set<string>) =>
    vi.waitFor(() => {
      const found = tracing.spans().filter((x) => x.kind === SpanKind.SERVER && x.attributes['http.route'] === route && (!traceIds || traceIds.has(x.spanContext().traceId)));
      expect(found.length).toBe(1);
      return found[0];
    });

  it('a CSV job: the upload\'s trace rides in every chunk job and holds every chunk\'s spans', async () => {
    const upload = await s.c.postCsv('/v1/jobs?model=lin', csv(12));
    expect(upload.status).toBe(202);
    const jobId = (await upload.json()).id as string;
    const post = await serverSpan('/v1/jobs');
    expect(post.name).toBe('POST /v1/jobs');
    expect(post.attributes['http.response.status_code']).toBe(202);
    const traceId = post.spanContext().traceId;
    // The context is carried in the job (bullmq-otel), W3C traceparent of this trace.
    const queued = await s.waitingJobs();
    expect(queued.length).toBe(3);
    for (const j of queued) expect(JSON.parse(j.opts.telemetry!.metadata!).traceparent).toContain(traceId);

    await s.startWorker();
    expect((await s.c.waitForJob(jobId)).status).toBe('completed');
    const chunkSpans = await vi.waitFor(() => {
      const inTrace = tracing.spans().filter((x) => x.spanContext().traceId === traceId);
      const processed = inTrace.filter((x) => x.kind === SpanKind.CONSUMER && x.name === `process ${QUEUES.predict}`);
      expect(processed.length).toBe(3);
      return inTrace;
    });
    const inference = chunkSpans.filter((x) => x.name === 'chunk.inference');
    expect(inference.map((x) => x.attributes['sluice.chunk']).sort()).toEqual([0, 1, 2]);
    for (const x of inference) expect(x.attributes['sluice.job_id']).toBe(jobId);
    for (const name of ['chunk.load', 'chunk.inference', 'chunk.commit']) {
      const spans = chunkSpans.filter((x) => x.name === name);
      expect(spans.length, name).toBe(3);
      // Each under a chunk's "process" span, under the enqueue, under the upload's request.
      for (const x of spans) {
        const up = ancestors(x);
        expect(up[0].kind).toBe(SpanKind.CONSUMER);
        expect(up.some((a) => a.kind === SpanKind.PRODUCER)).toBe(true);
        expect(up.at(-1)).toBe(post);
      }
    }
  });

  it('a single prediction is one trace, api and worker, every hop parented across the queue, its webhook included', async () => {
    await s.startWorker();
    tracing.exporter.reset();
    const res = await s.c.postJson('/v1/predictions', { model: 'lin', inputs: [{ a: 1, b: 2 }], wait: 10, callback_url: hookUrl });
    expect(res.status).toBe(200);
    const jobId = (await res.json()).id as string;
    const post = await serverSpan('/v1/predictions');
    expect(post.name).toBe('POST /v1/predictions');
    const traceId = post.spanContext().traceId;

    // The worker's spans and the webhook delivery end after the answer: wait for them.
    const spans = await vi.waitFor(() => {
      const inTrace = tracing.spans().filter((x) => x.spanContext().traceId === traceId);
      // A parent ends after its children: the two "process" spans are the last to end.
      expect(inTrace.map((x) => x.name)).toEqual(expect.arrayContaining(['webhook.send', `process ${QUEUES.webhooks}`, `process ${QUEUES.interactive}`]));
      return inTrace;
    });
    // ONE trace: every span that names this job is in it.
    const naming = tracing.spans().filter((x) => x.attributes['sluice.job_id'] === jobId || String(x.attributes['bullmq.job.id'] ?? '').includes(jobId));
    expect(naming.length).toBeGreaterThan(0);
    expect(new Set(naming.map((x) => x.spanContext().traceId))).toEqual(new Set([traceId]));

    const one = (name: string) => {
      const found = spans.filter((x) => x.name === name);
      expect(found.length, name).toBeGreaterThanOrEqual(1);
      return found[0];
    };
    // The api's side.
    for (const name of ['prediction.store', 'prediction.enqueue', 'job.wait', 'prediction.respond']) expect(ancestors(one(name))).toContain(post);
    const add = spans.find((x) => x.kind === SpanKind.PRODUCER && x.name.startsWith(`add ${QUEUES.interactive}`) || x.name === `addBulk ${QUEUES.interactive}`)!;
    expect(add).toBeDefined();
    expect(ancestors(add)[0].name).toBe('prediction.enqueue');
    // The worker's side: its process span is the child of the enqueue, and its hops are its children.
    const processed = one(`process ${QUEUES.interactive}`);
    expect(processed.kind).toBe(SpanKind.CONSUMER);
    expect(processed.parentSpanContext?.spanId).toBe(add.spanContext().spanId);
    for (const name of ['chunk.inference', 'chunk.commit', 'chunk.publish']) {
      const up = ancestors(one(name));
      expect(up[0], name).toBe(processed);
      expect(up.at(-1), name).toBe(post);
    }
    // The group commit that finished it, under the chunk's commit.
    expect(ancestors(one('small jobs commit'))[0]).toBe(one('chunk.commit'));
    // The webhook: enqueued by the publish, sent by the delivery worker, all in the job's trace.
    const send = one('webhook.send');
    const up = ancestors(send);
    expect(up[0].kind).toBe(SpanKind.CONSUMER);
    expect(up[0].name).toBe(`process ${QUEUES.webhooks}`);
    expect(up).toContain(one('chunk.publish'));
    expect(up.at(-1)).toBe(post);
    expect(hooks.length).toBe(1);
  });

  it('a caller\'s traceparent makes the request part of the caller\'s trace', async () => {
    await s.startWorker();
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${s.api.url}/v1/predictions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${(await createKey(s.env.pool, 'acme')).key}`, 'content-type': 'application/json', traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ model: 'lin', inputs: [{ a: 3, b: 4 }], wait: 10 }),
    });
    expect(res.status).toBe(200);
    const post = await serverSpan('/v1/predictions', new Set([callerTrace]));
    expect(post.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  });

  it('a group commit\'s write is a span in its first caller\'s trace, linked to the other callers\'', async () => {
    tracing.exporter.reset();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const committer = createGroupCommitter({ write: async (items: number[]) => (await gate, items), span: 'test.write' });
    // Three callers, each in a span of its own: the first is written alone, the two that arrive
    // while it is in flight share the next write.
    const callers = [1, 2, 3].map((n) => tracer().startSpan(`caller ${n}`));
    const answers = callers.map((span, i) => context.with(trace.setSpan(context.active(), span), () => committer.submit(i)));
    release();
    expect(await Promise.all(answers)).toEqual([0, 1, 2]);
    const writes = tracing.spans().filter((x) => x.name === 'test.write');
    expect(writes.map((w) => w.attributes['sluice.group.size'])).toEqual([1, 2]);
    const [alone, group] = writes;
    expect(alone.parentSpanContext?.spanId).toBe(callers[0].spanContext().spanId);
    expect(alone.links).toEqual([]);
    expect(group.spanContext().traceId).toBe(callers[1].spanContext().traceId);
    expect(group.parentSpanContext?.spanId).toBe(callers[1].spanContext().spanId);
    expect(group.links.map((l) => l.context.spanId)).toEqual([callers[2].spanContext().spanId]);
    for (const span of callers) span.end();
  });

  it('log lines written inside a span carry its trace and span ids', () => {
    const mixin = traceLogMixin()!;
    expect(mixin()).toEqual({});
    tracer().startActiveSpan('t', (span) => {
      expect(mixin()).toEqual({ trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId });
      span.end();
    });
  });
});
