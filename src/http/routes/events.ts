import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { HttpError } from '../../errors.js';
import type { Watch } from '../../jobs/jobEvents.js';
import type { AppDeps } from '../deps.js';
import { defineRoute } from '../route.js';
import { openEventStream } from '../sse.js';
import { jobGoneError } from './jobs.js';

// Live progress over Server-Sent Events (docs/events.md; the watchers live in src/jobs/jobEvents.ts).
// A stream counts once against the request rate limits, when it connects, and holds no upload slot
// or quota: an idle one costs a socket and a few kB. What bounds how many a tenant holds is
// SSE_MAX_STREAMS_PER_TENANT per api process (429 beyond), counted in memory, so nothing is left
// counted when a process dies.

const JobId = z.object({ id: z.string().uuid('job ids are UUIDs') });

const jobExampleData = '{"id":"0b7d3c2e-5f4a-4c1b-9e8d-2a6f1c3b4d5e","object":"job","status":"running","progress":{"fraction":0.4,"rows_done":40000,"rows_total":100000,"rate_rows_per_second":80000,"eta_seconds":0.8,"started_at":"2026-01-02T10:00:00.120Z","updated_at":"2026-01-02T10:00:00.620Z"},"…":"…"}';
const streamSchema = (what: string) => ({
  type: 'string',
  description: `Server-Sent Events (text/event-stream). ${what} Each event has \`event:\` (status, progress, completed, failed, cancelled), \`id:\` (\`<status rank>-<chunks done>\`, ordering a job's states) and one \`data:\` line: the Job (components/schemas/Job) exactly as GET /v1/jobs/{id} gives it. Lines starting with ":" are heartbeats (every SSE_HEARTBEAT_MS).`,
});
const SSE_HEADERS = {
  'Cache-Control': { description: 'no-cache, no-transform', schema: { type: 'string' } },
  'X-Accel-Buffering': { description: 'no: proxies must not buffer the stream', schema: { type: 'string' } },
};

export function registerEventRoutes(router: Router, deps: AppDeps) {
  const { pool, config, events } = deps;
  const max = config.sse.maxStreamsPerTenant;

  const admit = (tenantId: string) => {
    if (events.streamsOf(tenantId) >= max) {
      throw new HttpError(
        'rate_limited',
        `Your tenant already holds ${max} event streams open on this server (SSE_MAX_STREAMS_PER_TENANT); close some, or follow many jobs with one GET /v1/events.`,
        { retry_after: 5 },
        { 'Retry-After': '5' },
      );
    }
  };
  // A client that goes away (or went during the read at connect) closes its watcher.
  const closeWith = (req: Request, res: Response, watch: Watch) => {
    res.on('close', () => watch.close());
    if (res.destroyed || req.socket.destroyed) watch.close();
  };

  defineRoute(
    router,
    {
      method: 'get', path: '/jobs/:id/events', scope: 'jobs:read', tags: ['jobs'], operationId: 'streamJobEvents',
      summary:
        "A job's live progress as Server-Sent Events: `status` (the current state, first, and on each change), `progress` (at most every 500 ms), then one of `completed`, `failed`, `cancelled`, after which the stream ends. " +
        'Send the last id received as Last-Event-ID on reconnection: the current state comes only if it is later, and the final event always.',
      params: JobId,
      responses: {
        200: {
          description: 'the event stream',
          content: {
            'text/event-stream': {
              schema: streamSchema('Ends after the final event.'),
              example: `retry: 2000\n\nevent: status\nid: 2-40\ndata: ${jobExampleData}\n\n: hb\n\n`,
            },
          },
          headers: SSE_HEADERS,
        },
        404: { description: 'job_not_found: no such job' },
        410: { description: 'job_expired: retention deleted it and its results' },
      },
    },
    async (req, res, { params, auth }) => {
      admit(auth.tenantId);
      const watch = await events.watchJob(params.id, auth.tenantId, req.get('last-event-id'), () => openEventStream(req, res));
      if (!watch) throw await jobGoneError(pool, params.id, auth.tenantId, config.worker.retentionTtlHours);
      closeWith(req, res, watch);
    },
  );

  defineRoute(
    router,
    {
      method: 'get', path: '/events', scope: 'jobs:read', tags: ['jobs'], operationId: 'streamTenantEvents',
      summary:
        "Every job of the caller's tenant as Server-Sent Events, for dashboards: the events of GET /v1/jobs/{id}/events for each job that moves from now on. " +
        'A live feed: it never ends on its own and replays nothing (Last-Event-ID is ignored); list jobs with GET /v1/jobs for the state at connect.',
      responses: {
        200: {
          description: 'the event stream',
          content: {
            'text/event-stream': {
              schema: streamSchema('Never ends on its own.'),
              example: `retry: 2000\n\nevent: progress\nid: 2-41\ndata: ${jobExampleData}\n\n: hb\n\n`,
            },
          },
          headers: SSE_HEADERS,
        },
      },
    },
    (req, res, { auth }) => {
      admit(auth.tenantId);
      closeWith(req, res, events.watchTenant(auth.tenantId, openEventStream(req, res)));
    },
  );
}
