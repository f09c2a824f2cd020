import type { Request, Response } from 'express';
import type { EventSink, JobEventName } from '../jobs/jobEvents.js';

// The Server-Sent Events wire format (WHATWG HTML §9.2), written by hand: an event is `event:`,
// `id:` and one `data:` line (the job as JSON, which never holds a raw newline) and a blank line; a
// heartbeat is a comment line. A library (better-sse) would add a keep-alive timer and a
// serialization per session: here one interval beats every stream's heart (src/jobs/jobEvents.ts)
// and a job's JSON is built once for all of its watchers, which is what keeps 10,000 idle streams
// cheap (npm run bench, "watchers").

/** A client this far behind (not reading its socket) is cut off rather than buffered for without bound. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** What EventSource clients wait before reconnecting after the stream breaks (the `retry:` field). */
const RETRY_MS = 2000;
/**
 * helmet's policies for documents a browser renders (src/http/app.ts). An event stream is never
 * rendered, and Node keeps a response's header block for as long as the response is open: for
 * hours, times every watcher. Transport headers (HSTS, nosniff) stay.
 */
const DOCUMENT_HEADERS = [
  'content-security-policy', 'cross-origin-opener-policy', 'origin-agent-cluster', 'referrer-policy', 'x-dns-prefetch-control',
  'x-download-options', 'x-frame-options', 'x-permitted-cross-domain-policies', 'x-xss-protection',
];

/**
 * Starts the stream: status 200 and headers now, so the client knows it is connected. No-transform
 * keeps a compressing proxy (or middleware) from buffering events; X-Accel-Buffering: no tells nginx
 * not to buffer the response.
 */
export function openEventStream(req: Request, res: Response): EventSink {
  for (const name of DOCUMENT_HEADERS) res.removeHeader(name);
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  // The router keeps its `next` (and the request's routing state it closes over) on the request
  // for a handler that passes control on; the stream's handler has answered, and that state would
  // otherwise live as long as the stream (about 1.6 kB each, npm run bench "watchers").
  req.next = undefined;
  const write = (chunk: string) => {
    if (res.writableEnded || res.destroyed) return;
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      res.destroy();
      return;
    }
    res.write(chunk);
  };
  write(`retry: ${RETRY_MS}\n\n`);
  return {
    event: (name: JobEventName, id: string, data: string) => write(`event: ${name}\nid: ${id}\ndata: ${data}\n\n`),
    heartbeat: () => write(': hb\n\n'),
    end: () => {
      if (!res.writableEnded) res.end();
    },
  };
}
