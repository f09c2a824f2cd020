import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { startTracing } from './setup.js';

export interface InMemoryTracing {
  exporter: InMemorySpanExporter;
  /** Every span ended so far, in the order they ended. */
  spans(): ReadableSpan[];
  /** Stops recording and unregisters the SDK's globals, so another install can follow. */
  uninstall(): Promise<void>;
}

/**
 * For tests: the real SDK (context manager, W3C propagator, tracer provider) in this process, with
 * every span exported at once to memory. Install before building the api or a worker in-process.
 */
export async function installInMemoryTracing(role = 'test'): Promise<InMemoryTracing> {
  const exporter = new InMemorySpanExporter();
  const tracing = (await startTracing({ tracing: { enabled: true, serviceName: undefined } }, role, { spanProcessors: [new SimpleSpanProcessor({ exporter })] }))!;
  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    async uninstall() {
      await tracing.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
