import type { Router } from 'express';
import { z } from 'zod';
import { HttpError } from '../../errors.js';
import { deleteEndpoint } from '../../db/deleteEndpoint.js';
import { getEndpoint } from '../../db/getEndpoint.js';
import { listEndpoints } from '../../db/listEndpoints.js';
import { updateEndpoint } from '../../db/updateEndpoint.js';
import { retryNowJob } from '../../queue/deliveryJobs.js';
import { listJobDeliveries, retryDelivery } from '../../webhooks/deliveries.js';
import { createEndpoint, endpointView, getTenantSecret, rotateEndpointSecret, rotateTenantSecret } from '../../webhooks/endpoints.js';
import { JOB_EVENT_TYPES } from '../../webhooks/eventTypes.js';
import { SecretCipher } from '../../webhooks/secretCipher.js';
import { assertCallbackUrlAllowed } from '../../webhooks/ssrf.js';
import { decodeCursor, page, PageQuery } from '../cursor.js';
import type { AppDeps } from '../deps.js';
import { defineRoute } from '../route.js';
import { recordAudit } from '../../audit/log.js';
import { actorOf } from './admin.js';

// Webhook endpoints, the default secret that signs callback_url deliveries, and the delivery log.
// Paths are relative to the /v1 router. Secrets appear in a response only when they are created or
// rotated (they are stored encrypted; src/webhooks/secretCipher.ts); otherwise a fingerprint stands in.

const Event = z.enum(JOB_EVENT_TYPES);
const Events = z
  .array(Event)
  .min(1)
  .max(JOB_EVENT_TYPES.length)
  .transform((a) => [...new Set(a)]);
const Url = z.string().min(1).max(2048);
const IdParams = z.object({ id: z.uuid() });
const Overlap = z.object({
  /** How long the old secret keeps signing beside the new one; 0 revokes it at once (a leak). */
  overlap_seconds: z.number().int().min(0).max(7 * 24 * 3600).optional(),
});

const Endpoint = z.object({
  id: z.uuid(),
  object: z.literal('webhook_endpoint'),
  url: z.string(),
  events: z.array(Event),
  description: z.string().nullable(),
  status: z.enum(['enabled', 'disabled']),
  disabled_at: z.string().nullable(),
  disabled_reason: z.string().nullable(),
  secret_fingerprint: z.string().nullable(),
  previous_secret_expires_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
const WithSecret = Endpoint.extend({ secret: z.string() });
const DefaultSecret = z.object({
  secret_fingerprint: z.string().nullable(),
  previous_secret_expires_at: z.string().nullable(),
  created_at: z.string(),
  rotated_at: z.string().nullable(),
});
const DefaultSecretShown = DefaultSecret.extend({ secret: z.string() });

// What the endpoint list's cursor holds: the last endpoint's created_at to the microsecond (exactly
// as listEndpoints writes it, and a real instant, so Postgres can always cast it) and its id.
const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const EndpointCursor = z
  .object({
    t: z.string().regex(ISO_MICROS).refine((t) => !Number.isNaN(Date.parse(t)) && new Date(t).toISOString().slice(0, 19) === t.slice(0, 19)),
    id: z.uuid(),
  })
  .strict();
const Attempt = z.object({
  attempt: z.number(),
  started_at: z.string(),
  url: z.string(),
  address: z.string().nullable(),
  status_code: z.number().nullable(),
  latency_ms: z.number(),
  outcome: z.string(),
  error: z.string().nullable(),
  response_excerpt: z.string().nullable(),
});
const Delivery = z.object({
  id: z.uuid(),
  object: z.literal('webhook_delivery'),
  webhook_id: z.string(),
  event: Event,
  job_id: z.uuid(),
  destination: z.object({ type: z.enum(['callback', 'endpoint']), endpoint_id: z.uuid().nullable(), url: z.string() }),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempt_count: z.number(),
  next_attempt_at: z.string().nullable(),
  last_status_code: z.number().nullable(),
  last_error: z.string().nullable(),
  created_at: z.string(),
  delivered_at: z.string().nullable(),
  failed_at: z.string().nullable(),
  attempts: z.array(Attempt),
});

const notFound = () => new HttpError('not_found', 'No webhook endpoint with this id.');

export function registerWebhookRoutes(router: Router, deps: AppDeps): void {
  const { pool, config } = deps;
  const cipher = SecretCipher.fromConfig(config);
  if (config.secrets.source === 'development') {
    deps.log.warn('SECRETS_KEY is not set: webhook secrets are encrypted with the fixed development key, which is public. Set SECRETS_KEY (32 bytes, hex or base64) anywhere but development');
  }
  const checkUrl = (url: string) => assertCallbackUrlAllowed(url, { allowPrivate: config.webhooks.allowPrivate });
  const secretOut = (s: Awaited<ReturnType<typeof getTenantSecret>>) => ({
    ...(s.secret === undefined ? {} : { secret: s.secret }),
    secret_fingerprint: s.secret_fingerprint,
    previous_secret_expires_at: s.previous_secret_expires_at && s.previous_secret_expires_at > new Date() ? s.previous_secret_expires_at.toISOString() : null,
    created_at: s.created_at.toISOString(),
    rotated_at: s.rotated_at?.toISOString() ?? null,
  });

  // Before /webhooks/:id, which would otherwise take "default-secret" for an id.
  defineRoute(
    router,
    {
      method: 'get',
      path: '/webhooks/default-secret',
      scope: 'webhooks:write',
      summary: "What the secret that signs deliveries to jobs' callback_url is known by; the secret itself only in the response that created it",
      tags: ['webhooks'],
      responses: {
        200: {
          description: 'its fingerprint and dates; `secret` too only when this request created it (rotate to get a new one shown)',
          schema: DefaultSecret.extend({ secret: z.string().optional() }),
        },
      },
    },
    async (_req, res, { auth }) => {
      res.json(secretOut(await getTenantSecret(pool, cipher, auth.tenantId)));
    },
  );

  defineRoute(
    router,
    {
      method: 'post',
      path: '/webhooks/default-secret/rotate',
      scope: 'webhooks:write',
      summary: 'Replace the default secret; the old one keeps signing beside it for the overlap',
      tags: ['webhooks'],
      body: Overlap,
      responses: { 200: { description: 'the new secret, shown this once', schema: DefaultSecretShown } },
    },
    async (req, res, { auth, body }) => {
      const rotated = await rotateTenantSecret(pool, cipher, auth.tenantId, body.overlap_seconds ?? config.webhooks.secretOverlapSeconds);
      await recordAudit(pool, { ...actorOf(req, auth.keyId), tenantId: auth.tenantId, action: 'webhook.default_secret_rotated' });
      res.json(secretOut(rotated));
    },
  );

  defineRoute(
    router,
    {
      method: 'post',
      path: '/webhooks',
      scope: 'webhooks:write',
      summary: 'Register an endpoint; its signing secret is in this response only',
      tags: ['webhooks'],
      body: z.object({ url: Url, events: Events, description: z.string().max(500).optional() }),
      responses: { 201: { description: 'created', schema: WithSecret }, 422: { description: 'the URL is refused' } },
    },
    async (_req, res, { auth, body }) => {
      checkUrl(body.url);
      const { endpoint, secret } = await createEndpoint(pool, cipher, auth.tenantId, body);
      res.status(201).location(`/v1/webhooks/${endpoint.id}`).json({ ...endpointView(endpoint), secret });
    },
  );

  defineRoute(
    router,
    {
      method: 'get',
      path: '/webhooks',
      scope: 'webhooks:write',
      summary: "The tenant's endpoints, oldest first",
      tags: ['webhooks'],
      query: z.object(PageQuery),
      responses: { 200: { description: 'a page of endpoints; next_cursor is null on the last page', schema: z.object({ data: z.array(Endpoint), next_cursor: z.string().nullable() }) } },
    },
    async (_req, res, { auth, query }) => {
      const after = query.cursor ? decodeCursor(query.cursor, EndpointCursor) : null;
      const rows = await listEndpoints(pool, auth.tenantId, { limit: query.limit + 1, after });
      res.json(page(rows, query.limit, (e) => endpointView(e), (e) => ({ t: e.cursor_t, id: e.id })));
    },
  );

  defineRoute(
    router,
    { method: 'get', path: '/webhooks/:id', scope: 'webhooks:write', summary: 'One endpoint', tags: ['webhooks'], params: IdParams, responses: { 200: { description: 'the endpoint', schema: Endpoint } } },
    async (_req, res, { auth, params }) => {
      const e = await getEndpoint(pool, auth.tenantId, params.id);
      if (!e) throw notFound();
      res.json(endpointView(e));
    },
  );

  defineRoute(
    router,
    {
      method: 'patch',
      path: '/webhooks/:id',
      scope: 'webhooks:write',
      summary: 'Change the URL, events or description; disable or re-enable (clears a 410 disablement)',
      tags: ['webhooks'],
      params: IdParams,
      body: z.object({ url: Url.optional(), events: Events.optional(), description: z.string().max(500).nullable().optional(), disabled: z.boolean().optional() }),
      responses: { 200: { description: 'the endpoint', schema: Endpoint } },
    },
    async (_req, res, { auth, params, body }) => {
      if (body.url !== undefined) checkUrl(body.url);
      const e = await updateEndpoint(pool, auth.tenantId, params.id, body);
      if (!e) throw notFound();
      res.json(endpointView(e));
    },
  );

  defineRoute(
    router,
    { method: 'delete', path: '/webhooks/:id', scope: 'webhooks:write', summary: 'Remove an endpoint (its delivery history stays)', tags: ['webhooks'], params: IdParams, responses: { 204: { description: 'deleted' } } },
    async (_req, res, { auth, params }) => {
      if (!(await deleteEndpoint(pool, auth.tenantId, params.id))) throw notFound();
      res.status(204).end();
    },
  );

  defineRoute(
    router,
    {
      method: 'post',
      path: '/webhooks/:id/rotate-secret',
      scope: 'webhooks:write',
      summary: 'New signing secret, shown once; the old one keeps signing beside it for the overlap',
      tags: ['webhooks'],
      params: IdParams,
      body: Overlap,
      responses: { 200: { description: 'the endpoint and its new secret', schema: WithSecret } },
    },
    async (req, res, { auth, params, body }) => {
      const r = await rotateEndpointSecret(pool, cipher, auth.tenantId, params.id, body.overlap_seconds ?? config.webhooks.secretOverlapSeconds);
      if (!r) throw notFound();
      await recordAudit(pool, { ...actorOf(req, auth.keyId), tenantId: auth.tenantId, action: 'webhook.secret_rotated', target: params.id });
      res.json({ ...endpointView(r.endpoint), secret: r.secret });
    },
  );

  defineRoute(
    router,
    {
      method: 'get',
      path: '/jobs/:id/deliveries',
      scope: 'jobs:read',
      summary: "The job's webhook deliveries and every attempt made",
      tags: ['webhooks'],
      params: IdParams,
      query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      responses: { 200: { description: 'deliveries, oldest first', schema: z.object({ data: z.array(Delivery) }) } },
    },
    async (_req, res, { auth, params, query }) => {
      const data = await listJobDeliveries(pool, auth.tenantId, params.id, query.limit);
      if (!data) throw new HttpError('job_not_found', 'No job with this id.');
      res.json({ data });
    },
  );

  defineRoute(
    router,
    {
      method: 'post',
      path: '/deliveries/:id/retry',
      scope: 'webhooks:write',
      summary: 'Send a delivery again now, with the same webhook-id',
      tags: ['webhooks'],
      params: IdParams,
      responses: { 202: { description: 'queued', schema: Delivery }, 409: { description: 'its endpoint is disabled or deleted' } },
    },
    async (_req, res, { auth, params }) => {
      const r = await retryDelivery(pool, auth.tenantId, params.id);
      if (!r.ok) {
        if (r.why === 'not_found') throw new HttpError('not_found', 'No delivery with this id.');
        throw new HttpError(
          'conflict',
          r.why === 'endpoint_disabled'
            ? 'The endpoint of this delivery is disabled; re-enable it with PATCH /v1/webhooks/{id} {"disabled": false} first.'
            : 'The endpoint of this delivery was deleted.',
        );
      }
      const job = retryNowJob({ deliveryId: r.delivery.id, attempt: r.delivery.attempt_count });
      await deps.queues.webhooks.add(job.name, job.data, job.opts);
      res.status(202).json(r.delivery);
    },
  );
}
