import { Queue } from 'bullmq';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../src/config.js';
import { createApp } from '../src/http/app.js';
import type { AppDeps } from '../src/http/deps.js';
import { registry } from '../src/http/route.js';
import { openApiDocument } from '../src/http/routes/openapi.js';
import { createLogger } from '../src/log.js';

// The api's OpenAPI document without a server, Postgres or Redis: the app is built on inert
// dependencies (its routes only declare themselves here; nothing is called), then the document is
// made from the routes it declared, as GET /openapi.json does. `npm run lint:openapi` writes it
// and lints it with Redocly's recommended rules.

export function buildOpenApiDocument(config: Config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' })) {
  const inert = new Proxy({}, { get: (_t, p) => (p === 'then' ? undefined : () => inert) }) as never;
  // The queue UI's adapter (bull-board) checks that it was given BullMQ queues: inert ones that are.
  const inertQueue = new Proxy(Object.create(Queue.prototype) as object, { get: (_t, p) => (p === 'then' ? undefined : () => inert) }) as never;
  const deps = { config, pool: inert, redis: inert, queues: { predict: inertQueue, interactive: inertQueue, webhooks: inertQueue }, waiter: inert, notify: inert, lookups: inert, log: createLogger(config, 'openapi') } as unknown as AppDeps;
  const app = createApp(deps);
  (app.locals.lastUsed as { close?: () => void } | undefined)?.close?.();
  return openApiDocument(registry, { serverUrl: config.publicUrl ?? undefined });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? 'openapi.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(buildOpenApiDocument(), null, 2) + '\n');
  console.error(`wrote ${out}`);
  process.exit(0);
}
