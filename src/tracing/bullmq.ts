import { BullMQOtel } from 'bullmq-otel';
import { tracingOn } from './state.js';

/**
 * What every BullMQ Queue and Worker is given as `telemetry`: with tracing on, bullmq-otel, which
 * writes the adding span's context into the job (opts.telemetry.metadata) and makes the worker's
 * "process" span its child, so a trace crosses the queue. Off: undefined, and BullMQ skips it all.
 */
export function queueTelemetry(): BullMQOtel | undefined {
  return tracingOn() ? new BullMQOtel({ tracerName: 'sluice-bullmq' }) : undefined;
}
