import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors.js';
import { findAuth } from './auth.js';
import type { Lookups } from './lookups.js';

/**
 * Per-tenant cap on queued rows, checked at intake: a tenant at or over MAX_QUEUED_ROWS_PER_TENANT
 * gets 429 quota_exceeded for new jobs and predictions until its backlog drains, so one tenant
 * cannot fill the queues that every tenant shares. A job accepted just under the cap may take the
 * tenant over it by at most one job's rows (MAX_ROWS_PER_JOB): the upload is streamed, so its size
 * is not known when it starts.
 *
 * Through `lookups`, a reading far below the cap (under half of it, counting at their largest size
 * the requests this process admitted since) and under a second old is reused instead of read
 * again; near the cap every request reads Postgres. `requestRows` is the most rows one request on
 * this route can add. The bound this adds is stated at Lookups.queuedRows (src/http/lookups.ts).
 */
export function queuedRowsCap(lookups: Pick<Lookups, 'queuedRows'>, maxRows: number, requestRows: number) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const auth = findAuth(req);
    if (!auth) return next();
    const queued = await lookups.queuedRows(auth.tenantId, maxRows, requestRows);
    if (queued >= maxRows) {
      throw new HttpError(
        'quota_exceeded',
        `Your tenant already has ${queued} rows waiting to be scored; at most ${maxRows} may be queued (MAX_QUEUED_ROWS_PER_TENANT). Submit more once running jobs finish.`,
        { queued_rows: queued, max_queued_rows: maxRows },
        { 'Retry-After': '30' },
      );
    }
    next();
  };
}
