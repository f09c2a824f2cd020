import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { endSpan, preciseNow, tracer } from '../tracing/spans.js';
import { tracingOn } from '../tracing/state.js';
import { routeOf } from './httpMetrics.js';

/**
 * One server span per request, named by method and route template (`POST /v1/predictions`), from
 * arrival to the answer's last byte; a caller's `traceparent` header makes it part of the caller's
 * trace. The request and response emitters are bound to its context, so what runs on their events
 * (body parsing, the access log line) is inside it. Mounted before the access log and the
 * routes. With tracing off, nothing.
 */
export function requestSpans(): RequestHandler {
  return (req, res, next) => {
    if (!tracingOn()) return next();
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer().startSpan(req.method, {
      kind: SpanKind.SERVER,
      // The path without its query: query strings may carry what should not be kept.
      attributes: { 'http.request.method': req.method, 'url.path': req.path, 'url.scheme': req.protocol },
      startTime: preciseNow(),
    }, parent);
    const ctx = trace.setSpan(parent, span);
    res.once('close', () => {
      const template = routeOf(req, res);
      if (template !== 'unmatched') {
        span.updateName(`${req.method} ${template}`);
        span.setAttribute('http.route', template);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      if (!res.writableFinished) span.setAttribute('sluice.aborted', true);
      endSpan(span);
    });
    context.bind(ctx, req);
    context.bind(ctx, res);
    context.with(ctx, next);
  };
}
