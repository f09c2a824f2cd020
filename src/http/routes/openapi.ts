import type { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../deps.js';
import { defineRoute, registry, type RouteSpec } from '../route.js';

// Built from the same zod schemas that validate requests, so the document cannot drift from the routes.
const toSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

const Problem = {
  type: 'object',
  required: ['type', 'title', 'status', 'code', 'detail'],
  properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, code: { type: 'string' }, detail: { type: 'string' }, instance: { type: 'string' } },
};

export function openApiDocument(specs: RouteSpec[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of specs) {
    const isV1 = r.scope !== null;
    const path = (isV1 ? '/v1' : '') + r.path.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', r.params], ['query', r.query]] as const) {
      if (!schema) continue;
      const js = toSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: s });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, resp] of Object.entries(r.responses)) {
      const contentType = resp.contentType ?? (Number(status) >= 400 ? 'application/problem+json' : 'application/json');
      responses[status] = { description: resp.description, content: { [contentType]: { schema: resp.schema ? toSchema(resp.schema) : Number(status) >= 400 ? Problem : {} } } };
    }
    if (isV1) {
      responses['401'] ??= { description: 'missing, malformed or revoked key', content: { 'application/problem+json': { schema: Problem } } };
      responses['403'] ??= { description: `the key lacks the ${r.scope} scope`, content: { 'application/problem+json': { schema: Problem } } };
    }
    paths[path] ??= {};
    paths[path][r.method] = {
      summary: r.summary,
      tags: r.tags,
      ...(isV1 ? { security: [{ bearer: [] }], 'x-scope': r.scope } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(r.body) } } } } : r.requestBody ? { requestBody: r.requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Sluice', version: '1', description: 'Asynchronous batch prediction for ONNX models.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}

export function registerOpenApiRoute(router: Router, _deps: AppDeps) {
  let doc: ReturnType<typeof openApiDocument> | null = null;
  defineRoute(router, { method: 'get', path: '/openapi.json', scope: null, summary: 'This document', tags: ['meta'], responses: { 200: { description: 'OpenAPI 3.1' } } }, (_req, res) => {
    doc ??= openApiDocument(registry);
    res.json(doc);
  });
}
