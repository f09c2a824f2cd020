import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { series } from '../metrics/series.js';

// sluice_http_request_duration_seconds{route,method,status} and sluice_http_request_bytes_total.
// The route label is the Express template that answered (/v1/jobs/:id), never the path itself
// (ids would make a series per job); requests answered before any route matched (authentication,
// rate limits, the dashboard's files, 404s) are "unmatched".

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Notes the mount path of the router it is used in, for the route label: an error answered after it
 * left its router no longer has req.baseUrl set (Express restores it on the way out).
 */
export function rememberMount(req: Request, res: Response, next: NextFunction) {
  res.locals.routeBase = req.baseUrl;
  next();
}

/** The route template that answered (`/v1/jobs/:id`), or "unmatched"; also the request span's name (requestSpans.ts). */
export function routeOf(req: Request, res: Response): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof path !== 'string') return 'unmatched';
  const base = typeof res.locals.routeBase === 'string' ? res.locals.routeBase : req.baseUrl;
  return `${base}${path}`;
}

/** First in the chain: it must see the body's bytes from the first one on. */
export function httpMetrics(): RequestHandler {
  return (req, res, next) => {
    if (!series.enabled) return next();
    const started = performance.now();
    res.locals.arrivedAt = started;
    // Body bytes as they leave the HTTP parser (before any decompression): counted where Node pushes
    // them into the request stream, so no listener changes how the body is read.
    const push = req.push;
    req.push = function (chunk: unknown, encoding?: BufferEncoding) {
      if (chunk && typeof (chunk as { length?: unknown }).length === 'number') series.requestBytes.inc((chunk as { length: number }).length);
      return push.call(this, chunk, encoding);
    };
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      // A client gone before the answer was sent: its status is the one it would have had (0: none yet).
      const status = res.headersSent ? String(res.statusCode) : '0';
      series.httpDuration.observe({ route: routeOf(req, res), method: METHODS.has(req.method) ? req.method : 'OTHER', status }, (performance.now() - started) / 1000);
    };
    res.once('finish', end);
    res.once('close', end);
    next();
  };
}

/**
 * sluice_single_prediction_duration_seconds{outcome}: a POST /v1/predictions that waits, from its
 * arrival to its answer: ok (predictions inline), timeout (202: not done within its wait), error.
 */
export function timeSinglePrediction(res: Response): void {
  if (!series.enabled) return;
  const arrived = typeof res.locals.arrivedAt === 'number' ? res.locals.arrivedAt : performance.now();
  res.once('finish', () => {
    const outcome = res.statusCode === 200 ? 'ok' : res.statusCode === 202 ? 'timeout' : 'error';
    series.singlePrediction.observe({ outcome }, (performance.now() - arrived) / 1000);
  });
}
