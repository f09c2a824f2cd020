import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Scope } from '../auth/keys.js';
import { HttpError } from '../errors.js';
import { getAuth, requireScope, type Auth } from './auth.js';
import { assertJsonDepth } from './limits.js';

const DEFAULT_MAX_JSON_DEPTH = 32;

// Every route is declared once with its schemas: the same objects validate requests, generate
// /openapi.json, and let tests enumerate the router (tenant isolation, scopes).
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface RouteSpec<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B extends z.ZodType = z.ZodType> {
  method: Method;
  /** Express path, e.g. /v1/jobs/:id */
  path: string;
  /** null: no key needed (health, openapi). */
  scope: Scope | null;
  /**
   * The document's security requirement for this operation, when it is not the default (a /v1
   * route: bearer or the dashboard's cookie; an open one: none). For routes that authenticate
   * themselves: the dashboard session routes (src/http/routes/sessions.ts).
   */
  security?: Record<string, string[]>[];
  /** Unique across the API: a generated client's method name. */
  operationId: string;
  summary: string;
  tags?: string[];
  params?: P;
  query?: Q;
  /** A JSON body schema, named (`.meta({ id: 'SomethingRequest' })`); raw bodies (CSV, multipart) are read by the handler and described by `requestBody`, a named zod schema per media type. */
  body?: B;
  requestBody?: { content: Record<string, { schema: z.ZodType }> };
  /**
   * Every status the route itself sends. A 2xx with a body names its zod schema (`.meta({ id })`,
   * examples in the meta); `content` adds other media types as JSON Schema with an example. 4xx
   * are problems; the ones every route can send (400, 401, 403, 429, 503, and 404/413/415 where
   * they apply) are added by the document builder.
   */
  responses: Record<number, ResponseSpec>;
}

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
  content?: Record<string, { schema: Record<string, unknown>; example: unknown }>;
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
}

export interface RouteInput<P extends AnyObject, Q extends AnyObject, B extends z.ZodType> {
  params: z.output<P>;
  query: z.output<Q>;
  body: z.output<B>;
  auth: Auth;
}

export const registry: RouteSpec[] = [];

/**
 * The scheme and host the caller used (behind a trusted proxy, what it forwarded), for links in
 * what is sent later without a request at hand (webhooks). PUBLIC_URL, when set, wins over it.
 */
export function requestBase(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`.slice(0, 2048);
}

function check<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.output<T> {
  if (!schema) return {} as z.output<T>;
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const errors = r.error.issues.map((i) => ({ in: where, path: i.path.join('.'), message: i.message }));
    const first = errors[0];
    throw new HttpError('validation_failed', `Invalid ${where}${first.path ? ` "${first.path}"` : ''}: ${first.message}`, { errors });
  }
  return r.data;
}

export function defineRoute<P extends AnyObject, Q extends AnyObject, B extends z.ZodType>(
  router: Router,
  spec: RouteSpec<P, Q, B>,
  handler: (req: Request, res: Response, input: RouteInput<P, Q, B>) => Promise<unknown> | unknown,
  opts: { jsonLimit?: number } = {},
) {
  if (!registry.some((r) => r.method === spec.method && r.path === spec.path)) registry.push(spec as unknown as RouteSpec);
  // The raw JSON is checked for nesting depth before it is parsed (MAX_JSON_DEPTH, set by createApp).
  const verify = (req: Request, _res: Response, buf: Buffer) => assertJsonDepth(buf, (req.app.locals.maxJsonDepth as number | undefined) ?? DEFAULT_MAX_JSON_DEPTH);
  const middleware = spec.body ? [express.json({ limit: opts.jsonLimit ?? '1mb', strict: true, verify })] : [];
  const known = new Set(Object.keys(spec.query?.shape ?? {}));
  router[spec.method](spec.path, ...middleware, async (req: Request, res: Response) => {
    if (spec.scope) requireScope(req, spec.scope);
    // A parameter the route does not take is refused, not ignored: a misspelt filter would
    // otherwise answer with everything, and a misplaced option would silently do nothing.
    const unknown = Object.keys(req.query).filter((k) => !known.has(k));
    if (unknown.length) {
      const takes = known.size ? `it takes ${[...known].join(', ')}` : 'it takes none';
      throw new HttpError('unknown_parameter', `Unknown query parameter(s) ${unknown.map((u) => `"${u.slice(0, 100)}"`).join(', ')} for ${spec.method.toUpperCase()} ${spec.path}: ${takes}.`, { unknown: unknown.slice(0, 20) });
    }
    const input = {
      params: check(spec.params, req.params, 'path parameter'),
      query: check(spec.query, req.query, 'query parameter'),
      body: spec.body ? check(spec.body, req.body, 'body') : ({} as z.output<B>),
      auth: spec.scope ? getAuth(req) : (undefined as unknown as Auth),
    };
    await handler(req, res, input);
  });
}
