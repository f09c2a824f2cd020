import { trace } from '@opentelemetry/api';
import { tracingOn } from './state.js';

/**
 * A pino mixin: the active span's trace and span ids on every log line written inside it, so a
 * line leads to its trace (and a trace to its lines). Undefined with tracing off: no mixin at all.
 */
export function traceLogMixin(): (() => Record<string, string>) | undefined {
  if (!tracingOn()) return undefined;
  return (): Record<string, string> => {
    const sc = trace.getActiveSpan()?.spanContext();
    // A fresh object each time: pino merges the line's own fields into it.
    return sc ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
  };
}
