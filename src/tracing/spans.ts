import { context, ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Context, type HrTime, type Link, type Span } from '@opentelemetry/api';
import { tracingOn } from './state.js';

// The one way instrumented code makes spans: through @opentelemetry/api only, so that with tracing
// off (no SDK registered) nothing is recorded, and each helper returns before touching the API.

/** Looked up at each use (only with tracing on): a provider registered later, or again (tests), is the one used. */
export const tracer = () => trace.getTracer('sluice');

/**
 * Now on the wall clock to the microsecond, as [seconds, nanoseconds]. The SDK starts a span at
 * Date.now(), whole milliseconds, which would blur the gaps between spans (a hop of a lone
 * prediction is a fraction of that); every span made here is started and ended with this instead.
 */
export function preciseNow(): HrTime {
  const ms = performance.timeOrigin + performance.now();
  const s = Math.floor(ms / 1000);
  return [s, Math.min(999_999_999, Math.floor((ms - s * 1000) * 1e6))];
}

/** Ends a span made here (its start was given, so its end must be too). */
export function endSpan(span: Span | undefined): void {
  span?.end(preciseNow());
}

/** A span's default link limit: a group larger than this links to its first members only. */
const MAX_LINKS = 128;

function fail(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/**
 * Runs `fn` in a span of its own, active while fn runs (what fn starts is its child) and ended when
 * fn settles; a throw marks it failed. With tracing off, just fn().
 */
export function inSpan<T>(name: string, fn: (span?: Span) => Promise<T>, attributes?: Attributes): Promise<T> {
  if (!tracingOn()) return fn();
  return tracer().startActiveSpan(name, { attributes, startTime: preciseNow() }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      fail(span, err);
      throw err;
    } finally {
      endSpan(span);
    }
  });
}

/** The active context, to carry with work that is done later on another caller's turn (a group commit); undefined when off. */
export function captureContext(): Context | undefined {
  return tracingOn() ? context.active() : undefined;
}

/**
 * Runs `fn` once for many callers (a group commit's write): its span is the child of the first
 * caller's context, so a lone caller's trace shows it in line, and links to the other callers'.
 */
export function inGroupSpan<T>(name: string, contexts: (Context | undefined)[], fn: () => Promise<T>, attributes?: Attributes): Promise<T> {
  if (!tracingOn()) return fn();
  const parent = contexts[0] ?? ROOT_CONTEXT;
  const first = trace.getSpanContext(parent)?.spanId;
  const seen = new Set<string>(first ? [first] : []);
  const links: Link[] = [];
  for (const c of contexts.slice(1)) {
    const sc = c && trace.getSpanContext(c);
    if (!sc || seen.has(sc.spanId) || links.length >= MAX_LINKS) continue;
    seen.add(sc.spanId);
    links.push({ context: sc });
  }
  return tracer().startActiveSpan(name, { links, attributes: { ...attributes, 'sluice.group.size': contexts.length }, startTime: preciseNow() }, parent, async (span) => {
    try {
      return await fn();
    } catch (err) {
      fail(span, err);
      throw err;
    } finally {
      endSpan(span);
    }
  });
}

/**
 * A span started now and ended by the caller with endSpan (something awaited concurrently with
 * other work, like a wait for a wake-up); not made active. Undefined when off.
 */
export function startSpan(name: string, attributes?: Attributes): Span | undefined {
  return tracingOn() ? tracer().startSpan(name, { attributes, startTime: preciseNow() }) : undefined;
}

/** Sets attributes on the active span (the request's, a chunk's), when tracing is on. */
export function annotate(attributes: Attributes): void {
  if (tracingOn()) trace.getActiveSpan()?.setAttributes(attributes);
}
