import compression from 'compression';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { constants } from 'node:zlib';

// Compressed downloads: a GET answered with gzip (or br/deflate) when the client's Accept-Encoding
// asks for it, by the `compression` middleware (expressjs's own: it negotiates Accept-Encoding,
// sets Vary, drops Content-Length, leaves HEAD, small bodies, already-encoded and
// `Cache-Control: no-transform` responses alone, and passes backpressure through).
//
// - Results stream: every write is sync-flushed (Z_SYNC_FLUSH), so what the route has written
//   reaches the client as it is written rather than when zlib's window fills; the results route
//   writes a stored chunk of rows at a time, so the flushes cost little ratio.
// - Server-Sent Events are never touched: a request for /events or one that accepts
//   text/event-stream skips the middleware entirely (no wrapper held for a long-lived stream), and
//   a text/event-stream response is refused by the filter in any case. Compressing SSE would hold
//   events in zlib until a flush and break their timing.
// - Only GET: POST answers (a job's view, a single prediction) are small and latency-bound, and
//   the single-prediction path should not pay a zlib round trip per request.

const EVENT_STREAM = 'text/event-stream';

const contentType = (res: Response) => String(res.getHeader('Content-Type') ?? '').toLowerCase();
const isEventStream = (res: Response) => contentType(res).startsWith(EVENT_STREAM);
// The library's own filter asks mime-db, which does not list NDJSON as compressible.
const isNdjson = (res: Response) => /^application\/(x-)?ndjson\b/.test(contentType(res));

function asksForEvents(req: Request): boolean {
  return /\/events\/?$/.test(req.path) || (req.headers.accept ?? '').toLowerCase().includes(EVENT_STREAM);
}

export function compressDownloads(): RequestHandler {
  const gzip = compression({
    flush: constants.Z_SYNC_FLUSH,
    filter: (req, res) => !isEventStream(res) && (isNdjson(res) || compression.filter(req, res)),
  });
  return (req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || asksForEvents(req)) return next();
    gzip(req, res, next);
  };
}
