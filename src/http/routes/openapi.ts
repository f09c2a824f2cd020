import type { Router } from 'express';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../errors.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, registry, type RouteSpec } from '../route.js';
import { OpenApiDocumentSchema } from '../schemas.js';

// Built from the same zod schemas that validate requests and type responses (src/http/schemas.ts),
// so the document cannot drift from the routes. Named schemas (`.meta({ id })`) become
// components.schemas and are referred to by $ref; `npm run lint:openapi` lints the result.

const REF_PREFIX = '#/components/schemas/';
/** Every /v1 route takes an API key as a bearer token, or the dashboard's session cookie. */
const V1_SECURITY = [{ bearer: [] }, { cookieAuth: [] }];
const ref = (id: string) => ({ $ref: REF_PREFIX + id });
const toSchema = (s: z.ZodType, io: 'input' | 'output' = 'input') => strip(z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>);

function strip(js: Record<string, unknown>) {
  const { $schema: _s, $id: _i, ...rest } = js;
  return rest;
}

const metaOf = (s: z.ZodType) => z.globalRegistry.get(s) as { id?: string; examples?: unknown[] } | undefined;

function idOf(s: z.ZodType, where: string): string {
  const id = metaOf(s)?.id;
  if (!id) throw new Error(`${where}: the schema has no id; name it with .meta({ id }) (src/http/schemas.ts)`);
  return id;
}

/** Where these codes can arise, beyond what each route declares. */
const COMMON = {
  400: 'validation_failed (a path or query parameter, or the body, does not fit), unknown_parameter (a query parameter the route does not take), invalid_json, json_too_deep',
  401: 'unauthorized: the key is missing, malformed, unknown or revoked',
  403: 'forbidden: the key lacks the scope this route needs',
  404: 'not found',
  413: 'payload_too_large: the body is over the limit',
  415: 'unsupported_media_type: the body is not in a media type (or charset) this route reads',
  422: 'the request is well formed but cannot be acted on',
  429: 'rate_limited or quota_exceeded: wait for Retry-After',
  503: 'service_unavailable: a backing service is briefly unavailable; retry after Retry-After',
} as const;

function problemExample(status: number, description: string): Record<string, unknown> {
  const codes = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => ERROR_CODES[c] === status);
  // The code the description names first, else the first of that status.
  const named = codes.map((c) => ({ c, at: description.search(new RegExp(`\\b${c}\\b`)) })).filter((x) => x.at >= 0).sort((x, y) => x.at - y.at);
  const code = named[0]?.c ?? codes[0] ?? 'bad_request';
  return { type: `about:blank#${code}`, title: code.replace(/_/g, ' '), status: ERROR_CODES[code], code, detail: description };
}

export function operationPath(r: Pick<RouteSpec, 'scope' | 'path'>): string {
  return (r.scope !== null ? '/v1' : '') + r.path.replace(/:(\w+)/g, '{$1}');
}

export interface OpenApiOptions {
  /** The base URL clients call (PUBLIC_URL); the default is the local development server. */
  serverUrl?: string;
}

export function openApiDocument(specs: RouteSpec[], opts: OpenApiOptions = {}) {
  // Every named schema, by id: the route's own object first (a schema built per app from its
  // config), then those only referred to from inside others.
  const named = new Map<string, z.ZodType>();
  const use = (s: z.ZodType, where: string) => {
    const id = idOf(s, where);
    named.set(id, s);
    return id;
  };
  const paths: Record<string, Record<string, unknown>> = {};
  const seenIds = new Set<string>();
  for (const r of specs) {
    const where = `${r.method.toUpperCase()} ${r.path}`;
    if (seenIds.has(r.operationId)) throw new Error(`${where}: operationId ${r.operationId} is used twice`);
    seenIds.add(r.operationId);
    const isV1 = r.scope !== null;
    const parameters: unknown[] = [];
    for (const [at, schema] of [['path', r.params], ['query', r.query]] as const) {
      if (!schema) continue;
      const js = toSchema(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) {
        const { description, ...rest } = s;
        parameters.push({ name, in: at, required: at === 'path' || (js.required ?? []).includes(name), ...(typeof description === 'string' ? { description } : {}), schema: rest });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, resp] of Object.entries(r.responses)) {
      const code = Number(status);
      if (code >= 400) {
        responses[status] = problem(code, resp.description);
        continue;
      }
      const content: Record<string, unknown> = {};
      if (resp.schema) {
        const id = use(resp.schema, where);
        const example = metaOf(resp.schema)?.examples?.[0];
        content[resp.contentType ?? 'application/json'] = { schema: ref(id), ...(example === undefined ? {} : { example }) };
      }
      Object.assign(content, resp.content ?? {});
      if (code !== 204 && !Object.keys(content).length) throw new Error(`${where}: the ${status} response declares no schema`);
      responses[status] = { description: resp.description, ...(resp.headers ? { headers: resp.headers } : {}), ...(code === 204 ? {} : { content }) };
    }
    const add = (status: number, description: string) => (responses[status] ??= problem(status, description));
    add(400, COMMON[400]);
    if (isV1) {
      add(401, COMMON[401]);
      add(403, `forbidden: the key lacks the ${r.scope} scope`);
      add(429, COMMON[429]);
      add(503, COMMON[503]);
    }
    if (r.params) add(404, `not_found: no such ${r.path.split('/')[1].replace(/s$/, '')}`);
    if (r.body) {
      add(413, COMMON[413]);
      add(415, COMMON[415]);
    }
    let requestBody: Record<string, unknown> | undefined;
    if (r.body) {
      const id = use(r.body, where);
      const example = metaOf(r.body)?.examples?.[0];
      requestBody = { required: true, content: { 'application/json': { schema: ref(id), ...(example === undefined ? {} : { example }) } } };
    } else if (r.requestBody) {
      const content: Record<string, unknown> = {};
      for (const [type, { schema }] of Object.entries(r.requestBody.content)) {
        const example = metaOf(schema)?.examples?.[0];
        content[type] = { schema: ref(use(schema, where)), ...(example === undefined ? {} : { example }) };
      }
      requestBody = { required: true, content };
    }
    const sorted = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
    paths[operationPath(r)] ??= {};
    paths[operationPath(r)][r.method] = {
      operationId: r.operationId,
      summary: r.summary,
      tags: r.tags,
      security: r.security ?? (isV1 ? V1_SECURITY : []),
      ...(isV1 ? { 'x-scope': r.scope } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses: sorted,
    };
  }
  for (const [id, s] of z.globalRegistry._idmap) if (!named.has(id)) named.set(id, s as z.ZodType);
  const schemas: Record<string, unknown> = {};
  for (const io of ['input', 'output'] as const) {
    const reg = z.registry<{ id: string }>();
    for (const [id, s] of named) if (/Request$/.test(id) === (io === 'input')) reg.add(s, { id });
    const out = z.toJSONSchema(reg, { io, unrepresentable: 'any', uri: (id) => REF_PREFIX + id }) as { schemas: Record<string, Record<string, unknown>> };
    for (const [id, js] of Object.entries(out.schemas)) schemas[id] = strip(js);
  }
  const tags = [...new Set(specs.flatMap((r) => r.tags ?? []))].sort().map((name) => ({ name, description: TAGS[name] ?? name }));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sluice',
      version: '1',
      description: 'Asynchronous batch prediction for ONNX models. Errors are RFC 9457 problems (application/problem+json) whose `code` is stable.',
      license: { name: 'UNLICENSED', identifier: 'LicenseRef-Proprietary' },
    },
    // Without PUBLIC_URL, the server that serves this document (its paths start at the root).
    servers: [opts.serverUrl ? { url: opts.serverUrl, description: 'this deployment (PUBLIC_URL)' } : { url: '/', description: 'the server this document is served from' }],
    security: V1_SECURITY,
    tags,
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key: Authorization: Bearer sk_…' },
        cookieAuth: { type: 'apiKey', in: 'cookie', name: 'sluice_session', description: 'The dashboard session (POST /v1/sessions). A request authenticated by it that is not GET or HEAD must also send X-CSRF-Token: the session\'s csrf_token, else 403 csrf_failed.' },
      },
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
    },
  };
}

const TAGS: Record<string, string> = {
  admin: 'API keys and the audit log (admin scope)',
  health: 'Liveness and readiness',
  jobs: 'Batch jobs: submit a CSV, follow it, read its results',
  meta: 'This document',
  models: 'ONNX models, their versions and aliases',
  predictions: 'Score records now',
  sessions: 'Dashboard sign-in: an API key exchanged for an HttpOnly session cookie',
  webhooks: 'Webhook endpoints, secrets and deliveries',
};

function problem(status: number, description: string) {
  return {
    description,
    content: { 'application/problem+json': { schema: ref('Problem'), example: problemExample(status, description) } },
  };
}

export function registerOpenApiRoute(router: Router, deps: AppDeps) {
  let doc: ReturnType<typeof openApiDocument> | null = null;
  defineRoute(
    router,
    { method: 'get', path: '/openapi.json', scope: null, operationId: 'getOpenApiDocument', summary: 'This document', tags: ['meta'], responses: { 200: { description: 'OpenAPI 3.1', schema: OpenApiDocumentSchema } } },
    (_req, res) => {
      doc ??= openApiDocument(registry, { serverUrl: deps.config.publicUrl ?? undefined });
      res.json(doc);
    },
  );
}
