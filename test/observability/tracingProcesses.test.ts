import { afterAll, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { SPAN_KIND, startOtlpReceiver, traceHopTable, tracingEnv } from '../../scripts/bench/tracing.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client } from '../helpers/api.js';
import { createTestEnv } from '../helpers/env.js';
import { killAll, startApi, startWorker } from '../helpers/processes.js';

// Tracing as deployed: real api and worker processes configured by OTEL_* variables alone export
// by OTLP/HTTP (JSON here, to a receiver in this test); one prediction is one trace across both
// processes, its log lines carry its trace id, and the bench's hop table reads every hop from it.

afterAll(killAll);

it('real processes export one trace per prediction across api and worker, and flush it on SIGTERM', async () => {
  const env = await createTestEnv({ INFERENCE_THREADS: '1' });
  const receiver = await startOtlpReceiver();
  try {
    const traced = { ...env.env, ...tracingEnv(receiver.endpoint) };
    const api = await startApi(traced);
    const worker = await startWorker(traced);
    const c = client(api.url, (await createKey(env.pool, 'acme')).key);
    expect((await c.registerModel('lin', linearRegression([1, 2], 0.5), { columns: ['a', 'b'], task: 'regression' })).status).toBe(201);
    const res = await c.postJson('/v1/predictions', { model: 'lin', inputs: [{ a: 1, b: 2 }], wait: 10 });
    expect(res.status).toBe(200);
    // SIGTERM: each process sends what its batch processor still holds before it exits.
    expect(await worker.stop()).toBe(0);
    expect(await api.stop()).toBe(0);

    const server = receiver.spans.filter((s) => s.kind === SPAN_KIND.server && s.name === 'POST /v1/predictions');
    expect(server.length).toBe(1);
    const traceId = server[0].traceId;
    const inTrace = receiver.spans.filter((s) => s.traceId === traceId);
    expect(new Set(inTrace.map((s) => s.service))).toEqual(new Set(['sluice-api', 'sluice-worker']));
    const table = traceHopTable(receiver.spans);
    expect(table.traces).toBe(1);
    for (const h of table.hops) if (h.key !== 'load') expect(Number.isFinite(h.ms), h.name).toBe(true);
    // The api's access line of that request names its trace.
    const line = api.logs.find((l) => l.msg === 'request completed' && (l.req as { url?: string })?.url === '/v1/predictions');
    expect(line?.trace_id).toBe(traceId);
  } finally {
    await receiver.close();
    await env.close();
  }
});
