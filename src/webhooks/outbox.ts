import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type pg from 'pg';
import { z } from 'zod';
import { isFinal, type JobRow } from '../db/jobRow.js';
import { jobView } from '../jobs/view.js';
import { generateSecret } from './sign.js';

// The transactional outbox: deliveries are rows written by the transaction that changes the job,
// so a committed job end always has its webhooks owed, and a rolled-back one never does. The queue
// is told afterwards (enqueueDeliveries), and the reconciler covers a crash or a Redis loss between.

export type JobEventType = 'job.completed' | 'job.failed' | 'job.cancelled' | 'job.progress';
export const EVENT_TYPES: readonly JobEventType[] = ['job.completed', 'job.failed', 'job.cancelled', 'job.progress'];

/** What travels through the webhooks queue: a delivery and the attempt count it expects. */
export const DeliveryRef = z.object({ deliveryId: z.uuid(), attempt: z.number().int().min(0) });
export type DeliveryRef = z.infer<typeof DeliveryRef>;

/**
 * One BullMQ id per delivery and attempt: the api, the worker and the reconciler enqueueing the
 * same attempt add it once, and a stale job (its attempt already made) is recognised and dropped.
 */
export const deliveryJobId = (r: DeliveryRef) => `${r.deliveryId}_${r.attempt}`;

export const DELIVERY_JOB_OPTS = {
  // Redis keeps nothing once a job ran: Postgres has the record, and the reconciler can re-add an id.
  removeOnComplete: true,
  removeOnFail: true,
  // Only for our own failures (Postgres unreachable before the attempt was claimed); a receiver's
  // failure is never a BullMQ failure, its retry is scheduled by the policy.
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
} as const;

/** One attempt of one delivery as a BullMQ job: a reference under a deterministic id. */
export function deliveryJob(ref: DeliveryRef, delayMs = 0) {
  return { name: 'deliver', data: ref, opts: { ...DELIVERY_JOB_OPTS, jobId: deliveryJobId(ref), ...(delayMs > 0 ? { delay: delayMs } : {}) } };
}

/** The webhook-id: one per message, shared by all its destinations, unchanged across attempts. */
export function newMessageId(): string {
  return `msg_${randomBytes(16).toString('base64url')}`;
}

export function eventPayload(type: JobEventType, job: JobRow, baseUrl: string, now = new Date()) {
  return { type, timestamp: now.toISOString(), data: jobView(job, baseUrl) };
}

type EndEvent = 'job.completed' | 'job.failed' | 'job.cancelled';

/**
 * Call inside the transaction that ends the job. Writes one delivery to the job's callback_url
 * (signed with the tenant's default secret, created here on first use) and one to each enabled
 * endpoint of the tenant subscribed to `type`. Idempotent per job end. Returns the new ids.
 */
export async function recordJobEvent(client: pg.ClientBase, job: JobRow, type: EndEvent, baseUrl: string): Promise<string[]> {
  return (await recordJobEvents(client, [{ job, type }], baseUrl)).get(job.id) ?? [];
}

const JOB_EVENTS_SQL = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id uuid, job_id uuid, callback_url text, type text, message_id text, payload jsonb)
), dest AS (
  SELECT i.*, 'callback'::text AS destination, NULL::uuid AS endpoint_id, i.callback_url AS url FROM input i WHERE i.callback_url IS NOT NULL
  UNION ALL
  SELECT i.*, 'endpoint', e.id, e.url FROM input i
    JOIN webhook_endpoints e ON e.tenant_id = i.tenant_id AND e.disabled_at IS NULL AND i.type = ANY (e.events)
)
INSERT INTO webhook_deliveries (tenant_id, job_id, destination, endpoint_id, url, message_id, event_type, payload)
SELECT tenant_id, job_id, destination, endpoint_id, url, message_id, type, payload FROM dest
ON CONFLICT (job_id, event_type, destination, coalesce(endpoint_id, '00000000-0000-0000-0000-000000000000'::uuid))
  WHERE event_type <> 'job.progress' DO NOTHING
RETURNING id, job_id`;

/** recordJobEvent for several jobs in one statement (the small jobs a group commit ends together). Ids by job. */
export async function recordJobEvents(client: pg.ClientBase, events: { job: JobRow; type: EndEvent }[], baseUrl: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(events.map((e) => [e.job.id, []]));
  if (!events.length) return out;
  const withCallback = [...new Set(events.filter((e) => e.job.callback_url).map((e) => e.job.tenant_id))];
  for (const tenantId of withCallback) {
    await client.query(`INSERT INTO webhook_tenant_secrets (tenant_id, secret) VALUES ($1, $2) ON CONFLICT (tenant_id) DO NOTHING`, [tenantId, generateSecret()]);
  }
  const input = events.map(({ job, type }) => ({
    tenant_id: job.tenant_id, job_id: job.id, callback_url: job.callback_url, type, message_id: newMessageId(), payload: eventPayload(type, job, baseUrl),
  }));
  const { rows } = await client.query<{ id: string; job_id: string }>({ name: 'sluice_job_events', text: JOB_EVENTS_SQL, values: [JSON.stringify(input)] });
  for (const r of rows) out.get(r.job_id)!.push(r.id);
  return out;
}

/**
 * Call inside the transaction that finishes a chunk of an unfinished job, after the job's counters
 * were updated (that update's row lock orders concurrent chunks, so the throttle below sees the
 * delivery a concurrent chunk just wrote). One indexed query: nothing is written unless an enabled
 * endpoint subscribes to job.progress and has had none for this job within `intervalMs` (pass
 * config.webhooks.progressIntervalMs).
 */
export async function recordProgress(client: pg.ClientBase, job: JobRow, baseUrl: string, opts: { intervalMs?: number } = {}): Promise<string[]> {
  if (isFinal(job.status)) return [];
  const intervalMs = opts.intervalMs ?? 5000;
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO webhook_deliveries (tenant_id, job_id, destination, endpoint_id, url, message_id, event_type, payload)
     SELECT $1, $2, 'endpoint', e.id, e.url, $3, 'job.progress', $4
       FROM webhook_endpoints e
      WHERE e.tenant_id = $1 AND e.disabled_at IS NULL AND 'job.progress' = ANY (e.events)
        AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries d
           WHERE d.endpoint_id = e.id AND d.job_id = $2 AND d.event_type = 'job.progress'
             AND d.created_at > now() - make_interval(secs => $5::double precision / 1000))
     RETURNING id`,
    [job.tenant_id, job.id, newMessageId(), JSON.stringify(eventPayload('job.progress', job, baseUrl)), intervalMs],
  );
  return rows.map((r) => r.id);
}

/** Call after commit. Adding the same delivery twice adds it once (deterministic job ids). */
export async function enqueueDeliveries(queue: Queue, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await queue.addBulk(ids.map((deliveryId) => deliveryJob({ deliveryId, attempt: 0 })));
}
