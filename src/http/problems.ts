import type { NextFunction, Request, Response } from 'express';
import { HttpError, problemBody, UnavailableError } from '../errors.js';
import type { Logger } from '../log.js';

export function sendProblem(res: Response, err: HttpError, instance?: string) {
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  res.locals.problemCode = err.code; // for the request's log line
  const requestId = res.getHeader('X-Request-Id');
  const body = { ...problemBody(err, instance), ...(typeof requestId === 'string' ? { request_id: requestId } : {}) };
  res.status(err.status).type('application/problem+json').send(JSON.stringify(body));
}

/** Converts whatever a handler threw into problem+json. A 500 says nothing internal; the log has it. */
export function errorHandler(log: Logger) {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const http = toHttpError(err);
    if (http.status >= 500) log.error({ err, request_id: req.id, code: http.code, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // An error before the body was read whole (header rejected mid-upload): don't read gigabytes
    // just to keep the connection alive.
    if (!req.complete) res.setHeader('Connection', 'close');
    sendProblem(res, http, req.originalUrl.split('?')[0].slice(0, 2048));
  };
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { type?: string; status?: number; limit?: number; message?: string };
  if (e?.type === 'entity.too.large') return new HttpError('payload_too_large', `The request body is larger than the ${e.limit} bytes allowed here.`);
  if (e?.type === 'entity.parse.failed') return new HttpError('invalid_json', 'The request body is not valid JSON.');
  if (e?.type === 'charset.unsupported' || e?.type === 'encoding.unsupported') return new HttpError('unsupported_media_type', e.message ?? 'Unsupported encoding.');
  // The client's own connection dropped mid-body (Node's "aborted"): its fault, not a backing service's.
  if ((err as { code?: string })?.code === 'ECONNRESET' && e?.message === 'aborted') return new HttpError('bad_request', 'The request was aborted by the client.');
  if (e?.type === 'request.aborted') return new HttpError('bad_request', 'The request was aborted by the client.');
  // Postgres or Redis away ("try again shortly", not a server bug): classified where their errors enter.
  if (err instanceof UnavailableError) return new HttpError('service_unavailable', 'A backing service is briefly unavailable; retry shortly.', {}, { 'Retry-After': '5' }, { cause: err });
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new HttpError('bad_request', 'The request could not be read.');
  return new HttpError('internal', 'Something went wrong on our side. Quote the request id when you report it.');
}
