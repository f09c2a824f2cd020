import type { Request, Router } from 'express';
import { z } from 'zod';
import type { Scope } from '../../auth/keys.js';
import { createTenantKey, revokeKey, type Actor, type KeyView } from '../../auth/tenants.js';
import { listAudit } from '../../db/listAudit.js';
import { listKeys } from '../../db/listKeys.js';
import { HttpError } from '../../errors.js';
import { decodeCursor, page, PageQuery } from '../cursor.js';
import type { AppDeps } from '../deps.js';
import { defineRoute } from '../route.js';
import { AuditPage, Key as KeyOut, KeyCreated, KeyCreateRequest, KeyList } from '../schemas.js';

// Key management and the audit log, for keys with the `admin` scope. A tenant's admin manages
// only that tenant's keys; the key itself appears once, in the response that creates it.


/** What the keys list's cursor holds: the id of the last key shown. */
const KeyCursor = z.object({ k: z.uuid() }).strict();

export function keyView(k: KeyView): z.output<typeof KeyOut> {
  return {
    id: k.id, object: 'api_key', name: k.name, prefix: k.prefix, scopes: k.scopes,
    created_at: k.created_at.toISOString(), last_used_at: k.last_used_at?.toISOString() ?? null, revoked_at: k.revoked_at?.toISOString() ?? null,
  };
}

/** The caller as the audit log records it: the key, the client address and the request id. */
export function actorOf(req: Request, keyId: string): Actor {
  return { actorType: 'key', actor: keyId, ip: req.socket.remoteAddress ?? null, requestId: String(req.id ?? '') || null };
}

export function registerAdminRoutes(router: Router, deps: AppDeps) {
  const { pool } = deps;

  defineRoute(
    router,
    {
      method: 'post', path: '/keys', scope: 'admin', tags: ['admin'], operationId: 'createKey',
      summary: 'Create an API key for your tenant. The key is in this response only; store it now.',
      body: KeyCreateRequest,
      responses: { 201: { description: 'created; `key` is shown only here', schema: KeyCreated }, 409: { description: 'key_limit_reached: the tenant has MAX_KEYS_PER_TENANT unrevoked keys' } },
    },
    async (req, res, { body, auth }) => {
      const { key, view } = await createTenantKey(pool, auth.tenantId, body.scopes, { name: body.name, actor: actorOf(req, auth.keyId), maxKeys: deps.config.security.maxKeysPerTenant });
      res.status(201).location(`/v1/keys/${view.id}`).setHeader('Cache-Control', 'no-store');
      res.json({ ...keyView(view), key });
    },
  );

  defineRoute(
    router,
    {
      method: 'get', path: '/keys', scope: 'admin', tags: ['admin'], operationId: 'listKeys', summary: "Your tenant's keys, oldest first: prefix, scopes, last use (batched, up to a few seconds late), revocation",
      query: z.object(PageQuery),
      responses: { 200: { description: 'a page of keys; next_cursor is null on the last page', schema: KeyList } },
    },
    async (_req, res, { query, auth }) => {
      const afterId = query.cursor ? decodeCursor(query.cursor, KeyCursor).k : null;
      const rows = await listKeys<Scope>(pool, auth.tenantId, { limit: query.limit + 1, afterId });
      res.json(page(rows, query.limit, keyView, (k) => ({ k: k.id })));
    },
  );

  defineRoute(
    router,
    {
      method: 'delete', path: '/keys/:id', scope: 'admin', tags: ['admin'], operationId: 'revokeKey',
      summary: 'Revoke a key: it fails from its next request on, in every api process',
      params: z.object({ id: z.uuid('key ids are UUIDs') }),
      responses: { 200: { description: 'revoked', schema: KeyOut }, 404: { description: 'not_found: no such key' } },
    },
    async (req, res, { params, auth }) => {
      const k = await revokeKey(pool, params.id, { tenantId: auth.tenantId, actor: actorOf(req, auth.keyId) });
      if (!k) throw new HttpError('not_found', `There is no API key ${params.id}.`);
      // Committed: this process drops the key from its cache before answering; the others drop it
      // when the trigger's notification reaches them.
      deps.lookups.forgetKey(k.id);
      res.json(keyView(k));
    },
  );

  defineRoute(
    router,
    {
      method: 'get', path: '/audit', scope: 'admin', tags: ['admin'], operationId: 'listAuditEvents', summary: "Your tenant's audit log, newest first: who did what, when, from where",
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), before: z.string().regex(/^\d{1,18}$/, 'an event id').optional() }),
      responses: { 200: { description: 'events; pass next_before as ?before= for the next page', schema: AuditPage } },
    },
    async (_req, res, { query, auth }) => {
      const rows = await listAudit(pool, auth.tenantId, { limit: query.limit, before: query.before });
      res.json({
        data: rows.map((r) => ({
          id: r.id, object: 'audit_event' as const, at: r.at.toISOString(), actor: { type: r.actor_type, id: r.actor },
          action: r.action, target: r.target, ip: r.ip, request_id: r.request_id, details: r.details,
        })),
        next_before: rows.length === query.limit ? rows.at(-1)!.id : null,
      } satisfies z.input<typeof AuditPage>);
    },
  );
}
