import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import express from 'express';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import type { Config } from '../../src/config.js';
// Registers the bigint parser the real processes use (row counts as numbers, as jobView expects).
import '../../src/db/pool.js';
import { authenticate } from '../../src/http/auth.js';
import type { AppDeps } from '../../src/http/deps.js';
import { errorHandler } from '../../src/http/problems.js';
import { registerWebhookRoutes } from '../../src/http/routes/webhooks.js';
import { JOB_FROM_SQL, JOB_ROW_SQL, type JobRow } from '../../src/db/jobRow.js';
import { QUEUES } from '../../src/queue/queues.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { createRedis } from '../../src/queue/redis.js';
import { enqueueDeliveries, recordJobEvent } from '../../src/webhooks/outbox.js';
import { startDeliveryWorker, type DeliveryWorkerOptions } from '../../src/webhooks/deliveryWorker.js';
import { newSecret } from '../../src/webhooks/endpoints.js';
import { SecretCipher } from '../../src/webhooks/secretCipher.js';
import { ensureTenantSecret } from '../../src/db/ensureTenantSecret.js';
import { selectTenantSigningSecrets } from '../../src/db/selectTenantSigningSecrets.js';

export const BASE_URL = 'https://sluice.test';
export const silentLog = pino({ level: 'silent' });

// ---- the receiver process

export interface ReceivedRequest {
  type: 'request';
  n: number;
  path: string;
  webhookId: string;
  timestamp: string;
  signatures: string[];
  verified: boolean[];
  status: number;
  duplicate: boolean;
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
}

export interface Step {
  status: number;
  delayMs?: number;
  headers?: Record<string, string>;
}

export interface Receiver {
  port: number;
  url: string;
  requests: ReceivedRequest[];
  /** Resolves with the first request (already seen or still to come) matching `pred`. */
  next(pred?: (r: ReceivedRequest) => boolean, timeoutMs?: number): Promise<ReceivedRequest>;
  stop(): Promise<void>;
}

const RECEIVER = fileURLToPath(new URL('./receiver.ts', import.meta.url));

export async function startReceiver(opts: { secrets: string[]; script?: Step[]; port?: number }): Promise<Receiver> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', RECEIVER], {
    env: {
      ...process.env,
      RECEIVER_SECRETS: opts.secrets.join(','),
      RECEIVER_SCRIPT: JSON.stringify(opts.script ?? [{ status: 200 }]),
      RECEIVER_PORT: String(opts.port ?? 0),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const requests: ReceivedRequest[] = [];
  const waiters = new Set<() => void>();
  let port = 0;
  const listening = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`receiver exited (${code}) before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { type: string; port?: number };
      if (msg.type === 'listening') {
        port = msg.port!;
        resolve();
      } else {
        requests.push(msg as ReceivedRequest);
        for (const w of waiters) w();
      }
    });
  });
  await listening;
  return {
    port,
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    next(pred = () => true, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = requests.find(pred);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver saw no matching request within ${timeoutMs} ms (saw ${requests.length})`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A port nothing listens on (for "receiver down"). */
export { freePort } from '../helpers/processes.js';

// ---- Postgres fixtures: a tenant with a model and a job, ended the way the job-ending code ends it

export async function createTenant(pool: pg.Pool, name: string) {
  return createKey(pool, name);
}

export async function createRunningJob(pool: pg.Pool, tenantId: string, callbackUrl: string | null = null): Promise<string> {
  const m = await pool.query<{ id: string }>(
    `INSERT INTO models (tenant_id, name) VALUES ($1, 'iris') ON CONFLICT (tenant_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
    [tenantId],
  );
  const v = await pool.query<{ id: string }>(
    `INSERT INTO model_versions (model_id, version, onnx, sha256, size_bytes, signature, io)
     VALUES ($1, 1, '\\x00'::bytea, 'dummy', 1, '{}', '{}')
     ON CONFLICT (model_id, version) DO UPDATE SET version = EXCLUDED.version RETURNING id`,
    [m.rows[0].id],
  );
  const j = await pool.query<{ id: string }>(
    `INSERT INTO jobs (tenant_id, model_version_id, kind, status, columns, callback_url, upload_complete,
                       rows_total, rows_succeeded, rows_failed, chunks_total, chunks_done, started_at)
     VALUES ($1, $2, 'batch', 'running', ARRAY['a', 'b'], $3, true, 10, 4, 1, 2, 1, now()) RETURNING id`,
    [tenantId, v.rows[0].id, callbackUrl],
  );
  return j.rows[0].id;
}

export async function jobRow(db: pg.Pool | pg.ClientBase, jobId: string): Promise<JobRow> {
  const { rows } = await db.query<JobRow>(`SELECT ${JOB_ROW_SQL} FROM ${JOB_FROM_SQL} WHERE j.id = $1`, [jobId]);
  return rows[0];
}

/** Ends the job and records its webhooks in one transaction, as the worker's last chunk does. */
export async function completeJob(pool: pg.Pool, jobId: string, type: 'job.completed' | 'job.failed' | 'job.cancelled' = 'job.completed') {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const status = type.slice(4);
    await client.query(
      `UPDATE jobs SET status = $2, chunks_done = chunks_total, rows_succeeded = 9, finished_at = now() WHERE id = $1`,
      [jobId, status],
    );
    const job = await jobRow(client, jobId);
    const ids = await recordJobEvent(client, job, type, { baseUrl: BASE_URL });
    await client.query('COMMIT');
    return { job, ids };
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

// ---- queue, worker, api

export interface Runtime {
  connection: Redis;
  queue: Queue;
  startWorker(extra?: Partial<DeliveryWorkerOptions>): { close(): Promise<void> };
  close(): Promise<void>;
}

export function runtime(config: Config, pool: pg.Pool): Runtime {
  const connection = createRedis(config) as Redis; // the shared test Redis, never a cluster
  const queue = new Queue(QUEUES.webhooks, { connection, prefix: config.redisPrefix });
  const workers: { close(): Promise<void> }[] = [];
  return {
    connection,
    queue,
    startWorker(extra = {}) {
      // No periodic reconciler: the tests that are about it call it, so no other test depends on it.
      const w = startDeliveryWorker({ config, pool, connection, log: silentLog, ...extra });
      workers.push(w);
      return w;
    },
    async close() {
      for (const w of workers) await w.close();
      await queue.close();
      connection.disconnect();
    },
  };
}

/**
 * What the delivery tests set up per test: a database and Redis prefix of their own, the webhook
 * runtime and a tenant (`setup`), and receiver processes (`receiver`), all torn down after each test.
 */
export function deliveryTestKit(defaults: Record<string, string> = { WEBHOOK_RETRY_SCHEDULE: '0,1,1' }) {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup = [];
  });
  return {
    async setup(env: Record<string, string> = {}) {
      const t: TestEnv = await createTestEnv({ ...defaults, ...env });
      const rt: Runtime = runtime(t.config, t.pool);
      cleanup.push(() => t.close(), () => rt.close());
      const { tenantId } = await createTenant(t.pool, 'acme');
      return { t, rt, tenantId };
    },
    async receiver(opts: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
      const r = await startReceiver(opts);
      cleanup.push(() => r.stop());
      return r;
    },
  };
}

export async function send(rt: Runtime, ids: string[]) {
  await enqueueDeliveries(rt.queue, ids);
}

/** Deletes this prefix's keys only: the Redis is shared with other test files and other runs. */
export async function flushPrefix(connection: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await connection.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await connection.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** For state that no event announces (a row in Postgres): poll, bounded. */
export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function delivery(pool: pg.Pool, id: string) {
  const { rows } = await pool.query<{ status: string; attempt_count: number; message_id: string; last_error: string | null; event_type: string; url: string }>(
    `SELECT status, attempt_count, message_id, last_error, event_type, url FROM webhook_deliveries WHERE id = $1`,
    [id],
  );
  return rows[0];
}

export async function attempts(pool: pg.Pool, deliveryId: string) {
  const { rows } = await pool.query<{ attempt_no: number; status_code: number | null; outcome: string; error: string | null; latency_ms: number; response_excerpt: string | null; address: string | null }>(
    `SELECT attempt_no, status_code, outcome, error, latency_ms, response_excerpt, address FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt_no, id`,
    [deliveryId],
  );
  return rows;
}

/**
 * The tenant's default secret in clear, made now if it has none (as the delivery worker would make
 * it): decrypted with the test environment's SECRETS_KEY, as only the delivery worker does in Sluice.
 */
export async function tenantSecret(t: Pick<TestEnv, 'pool' | 'config'>, tenantId: string): Promise<string> {
  const cipher = SecretCipher.fromConfig(t.config);
  await ensureTenantSecret(t.pool, tenantId, newSecret(cipher, tenantId).sealed);
  const stored = await selectTenantSigningSecrets(t.pool, tenantId);
  return stored!.secret ?? cipher.decrypt(stored!.secret_enc!, tenantId);
}

/** The webhook routes on a /v1 router with real authentication, as createApp mounts them. */
export async function startApi(config: Config, pool: pg.Pool, queue: Queue) {
  const deps = { config, pool, queues: { webhooks: queue }, log: silentLog } as unknown as AppDeps;
  const app = express();
  const v1 = express.Router();
  v1.use(authenticate(pool));
  registerWebhookRoutes(v1, deps);
  app.use('/v1', v1);
  app.use(errorHandler(silentLog));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    async call(key: string, method: string, path: string, body?: unknown) {
      const res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
