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
import { SecretCipher } from '../../webhooks/secretCipher.js';
import { assertCallbackUrlAllowed } from '../../webhooks/ssrf.js';
import { decodeCursor, page, PageQuery } from '../cursor.js';
import type { AppDeps } from '../deps.js';
import { defineRoute } from '../route.js';
import { DefaultSecret, DefaultSecretShown, Delivery, DeliveryList, SecretRotateRequest, Webhook as Endpoint, WebhookCreateRequest, WebhookList, WebhookUpdateRequest, WebhookWithSecret as WithSecret } from '../schemas.js';
import { recordAudit } from '../../audit/log.js';
import { actorOf } from './admin.js';

// Webhook endpoints, the default secret that signs callback_url deliveries, and the delivery log.
// Paths are relative to the /v1 router. Secrets appear in a response only when they are created or
// rotated (they are stored encrypted; src/webhooks/secretCipher.ts); otherwise a fingerprint stands in.

const IdParams = z.object({ id: z.uuid() });

// What the endpoint list's cursor holds: the last endpoint's created_at to the microsecond (exactly
// as listEndpoints writes it, and a real instant, so Postgres can always cast it) and its id.
const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const EndpointCursor = z
  .object({
    t: z.string().regex(ISO_MICROS).refine((t) => !Number.isNaN(Date.parse(t)) && new Date(t).toISOString().slice(0, 19) === t.slice(0, 19)),
    id: z.uuid(),
  })
  .strict();
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
      operationId: 'getDefaultWebhookSecret',
      scope: 'webhooks:write',
      summary: "What the secret that signs deliveries to jobs' callback_url is known by; the secret itself only in the response that created it",
      tags: ['webhooks'],
      responses: {
        200: {
          description: 'its fingerprint and dates; `secret` too only when this request created it (rotate to get a new one shown)',
          schema: DefaultSecret,
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
      operationId: 'rotateDefaultWebhookSecret',
      scope: 'webhooks:write',
      summary: 'Replace the default secret; the old one keeps signing beside it for the overlap',
      tags: ['webhooks'],
      body: SecretRotateRequest,
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
      operationId: 'createWebhook',
      summary: 'Register an endpoint; its signing secret is in this response only',
      tags: ['webhooks'],
      body: WebhookCreateRequest,
      responses: { 201: { description: 'created', schema: WithSecret }, 422: { description: 'invalid_callback_url: the URL is refused' } },
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
      operationId: 'listWebhooks',
      summary: "The tenant's endpoints, oldest first",
      tags: ['webhooks'],
      query: z.object(PageQuery),
      responses: { 200: { description: 'a page of endpoints; next_cursor is null on the last page', schema: WebhookList } },
    },
    async (_req, res, { auth, query }) => {
      const after = query.cursor ? decodeCursor(query.cursor, EndpointCursor) : null;
      const rows = await listEndpoints(pool, auth.tenantId, { limit: query.limit + 1, after });
      res.json(page(rows, query.limit, (e) => endpointView(e), (e) => ({ t: e.cursor_t, id: e.id })));
    },
  );

  defineRoute(
    router,
    { method: 'get', path: '/webhooks/:id', scope: 'webhooks:write', operationId: 'getWebhook', summary: 'One endpoint', tags: ['webhooks'], params: IdParams, responses: { 200: { description: 'the endpoint', schema: Endpoint } } },
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
      operationId: 'updateWebhook',
      scope: 'webhooks:write',
      summary: 'Change the URL, events or description; disable or re-enable (clears a 410 disablement)',
      tags: ['webhooks'],
      params: IdParams,
      body: WebhookUpdateRequest,
      responses: { 200: { description: 'the endpoint', schema: Endpoint }, 422: { description: 'invalid_callback_url: the URL is refused' } },
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
    { method: 'delete', path: '/webhooks/:id', scope: 'webhooks:write', operationId: 'deleteWebhook', summary: 'Remove an endpoint (its delivery history stays)', tags: ['webhooks'], params: IdParams, responses: { 204: { description: 'deleted' } } },
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
      operationId: 'rotateWebhookSecret',
      scope: 'webhooks:write',
      summary: 'New signing secret, shown once; the old one keeps signing beside it for the overlap',
      tags: ['webhooks'],
      params: IdParams,
      body: SecretRotateRequest,
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
      operationId: 'listJobDeliveries',
      scope: 'jobs:read',
      summary: "The job's webhook deliveries and every attempt made",
      tags: ['webhooks'],
      params: IdParams,
      query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      responses: { 200: { description: 'deliveries, oldest first', schema: DeliveryList }, 404: { description: 'job_not_found: no such job' } },
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
      operationId: 'retryDelivery',
      scope: 'webhooks:write',
      summary: 'Send a delivery again now, with the same webhook-id',
      tags: ['webhooks'],
      params: IdParams,
      responses: { 202: { description: 'queued', schema: Delivery }, 404: { description: 'not_found: no such delivery' }, 409: { description: 'conflict: its endpoint is disabled or deleted' } },
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
