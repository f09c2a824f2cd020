import { z } from 'zod';

// The delivery jobs of the webhooks queue (queues.ts): what the api, the outbox and the reconciler
// add and the delivery worker takes. Each BullMQ job is one attempt of one delivery.

/** What travels through the webhooks queue: a delivery and the attempt count it expects. */
export const DeliveryRef = z.object({ deliveryId: z.uuid(), attempt: z.number().int().min(0) });
export type DeliveryRef = z.infer<typeof DeliveryRef>;

/** The BullMQ job name of a delivery attempt (data: DeliveryRef). */
export const DELIVERY_JOB = 'deliver';

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
  return { name: DELIVERY_JOB, data: ref, opts: { ...DELIVERY_JOB_OPTS, jobId: deliveryJobId(ref), ...(delayMs > 0 ? { delay: delayMs } : {}) } };
}

/**
 * A manual retry ("send again now") of the attempt `ref` expects. Its own id: the scheduled
 * reference of this attempt may sit delayed in Redis; whichever runs first claims the attempt,
 * the other finds it taken.
 */
export function retryNowJob(ref: DeliveryRef, now = Date.now()) {
  return { name: DELIVERY_JOB, data: ref, opts: { ...DELIVERY_JOB_OPTS, jobId: `${deliveryJobId(ref)}_now${now}` } };
}
