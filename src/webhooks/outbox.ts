import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type pg from 'pg';
import { insertJobEvents } from '../db/insertJobEvents.js';
import { insertProgressEvents } from '../db/insertProgressEvents.js';
import { isFinal, type JobRow } from '../db/jobRow.js';
import { jobView, type ViewContext } from '../jobs/view.js';
import { deliveryJob } from '../queue/deliveryJobs.js';
import type { JobEndEventType, JobEventType } from './eventTypes.js';

// The transactional outbox: deliveries are rows written by the transaction that changes the job,
// so a committed job end always has its webhooks owed, and a rolled-back one never does. The queue
// is told afterwards (enqueueDeliveries), and the reconciler covers a crash or a Redis loss between.
// This module builds what is sent (payload, webhook-id); the rows are written by src/db.

/** The webhook-id: one per message, shared by all its destinations, unchanged across attempts. */
export function newMessageId(): string {
  return `msg_${randomBytes(16).toString('base64url')}`;
}

export function eventPayload(type: JobEventType, job: JobRow, view: ViewContext, now = new Date()) {
  return { type, timestamp: now.toISOString(), data: jobView(job, view) };
}

/**
 * Call inside the transaction that ends the job. Writes one delivery to the job's callback_url
 * (signed with the tenant's default secret, which the delivery worker creates if the tenant has
 * none yet: only a holder of SECRETS_KEY can make one) and one to each enabled
 * endpoint of the tenant subscribed to `type`. Idempotent per job end. Returns the new ids.
 */
export async function recordJobEvent(client: pg.ClientBase, job: JobRow, type: JobEndEventType, view: ViewContext): Promise<string[]> {
  return (await recordJobEvents(client, [{ job, type }], view)).get(job.id) ?? [];
}

/** recordJobEvent for several jobs in one statement (the small jobs a group commit ends together). Ids by job. */
export async function recordJobEvents(client: pg.ClientBase, events: { job: JobRow; type: JobEndEventType }[], view: ViewContext): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(events.map((e) => [e.job.id, []]));
  if (!events.length) return out;
  const input = events.map(({ job, type }) => ({
    tenant_id: job.tenant_id, job_id: job.id, callback_url: job.callback_url, type, message_id: newMessageId(), payload: eventPayload(type, job, view),
  }));
  for (const r of await insertJobEvents(client, input)) out.get(r.job_id)!.push(r.id);
  return out;
}

/**
 * Call inside the transaction that finishes a chunk of an unfinished job, after the job's counters
 * were updated (see insertProgressEvents). Nothing is written unless an enabled endpoint subscribes
 * to job.progress and has had none for this job within `intervalMs` (pass
 * config.webhooks.progressIntervalMs).
 */
export async function recordProgress(client: pg.ClientBase, job: JobRow, view: ViewContext, opts: { intervalMs?: number } = {}): Promise<string[]> {
  if (isFinal(job.status)) return [];
  return insertProgressEvents(client, {
    tenantId: job.tenant_id,
    jobId: job.id,
    messageId: newMessageId(),
    payload: eventPayload('job.progress', job, view),
    intervalMs: opts.intervalMs ?? 5000,
  });
}

/** Call after commit. Adding the same delivery twice adds it once (deterministic job ids). */
export async function enqueueDeliveries(queue: Queue, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await queue.addBulk(ids.map((deliveryId) => deliveryJob({ deliveryId, attempt: 0 })));
}
