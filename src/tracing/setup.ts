import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Config } from '../config.js';
import { setTracingOn } from './state.js';

export interface Tracing {
  /** Sends the spans still buffered and stops recording. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK in this process when the OTEL_* variables ask for traces
 * (config.tracing; docs/observability.md "Traces"): spans go where OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
 * says, by OTLP over HTTP (protobuf, or JSON with OTEL_EXPORTER_OTLP_PROTOCOL=http/json), batched as
 * the OTEL_BSP_* variables say. Call it first, before the process builds its queues and logger:
 * they ask whether tracing is on when they are made. Off, the SDK is not even loaded, and returns null.
 * `spanProcessors` replace the exporters the environment names (tests: an in-memory exporter).
 */
export async function startTracing(config: Pick<Config, 'tracing'>, role: string, opts: { spanProcessors?: SpanProcessor[] } = {}): Promise<Tracing | null> {
  if (!config.tracing.enabled && !opts.spanProcessors) return null;
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    serviceName: config.tracing.serviceName ?? `sluice-${role}`,
    // Traces only: metrics are Prometheus's (src/metrics), logs go to stdout.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
    ...(opts.spanProcessors ? { spanProcessors: opts.spanProcessors } : {}),
  });
  sdk.start();
  setTracingOn(true);
  let stopped: Promise<void> | undefined;
  return {
    shutdown: () => (stopped ??= sdk.shutdown().finally(() => setTracingOn(false))),
  };
}

/** `handle` with a close() that also flushes tracing, last, so the shutdown's own spans are sent. */
export function closingTracing(handle: { close(): Promise<void> }, tracing: Tracing | null): { close(): Promise<void> } {
  if (!tracing) return handle;
  return {
    async close() {
      try {
        await handle.close();
      } finally {
        await tracing.shutdown().catch(() => {});
      }
    },
  };
}
