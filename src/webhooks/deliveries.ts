import type pg from 'pg';
import type { AttemptRow, DeliveryRow } from '../db/deliveryRow.js';
import { requeueDelivery } from '../db/requeueDelivery.js';
import { selectJobDeliveries } from '../db/selectJobDeliveries.js';

// The tenant's view of its deliveries (GET /v1/jobs/{id}/deliveries, POST /v1/deliveries/{id}/retry).

export function deliveryView(d: DeliveryRow, attempts: AttemptRow[] = []) {
  return {
    id: d.id,
    object: 'webhook_delivery' as const,
    webhook_id: d.message_id,
    event: d.event_type,
    job_id: d.job_id,
    destination: { type: d.destination, endpoint_id: d.endpoint_id, url: d.url },
    status: d.status,
    attempt_count: d.attempt_count,
    next_attempt_at: d.status === 'pending' ? d.next_attempt_at.toISOString() : null,
    last_status_code: d.last_status_code,
    last_error: d.last_error,
    created_at: d.created_at.toISOString(),
    delivered_at: d.delivered_at?.toISOString() ?? null,
    failed_at: d.failed_at?.toISOString() ?? null,
    attempts: attempts.map((a) => ({
      attempt: a.attempt_no,
      started_at: a.started_at.toISOString(),
      url: a.url,
      address: a.address,
      status_code: a.status_code,
      latency_ms: a.latency_ms,
      outcome: a.outcome,
      error: a.error,
      response_excerpt: a.response_excerpt,
    })),
  };
}

/** A job's deliveries with their attempts, oldest first; null when the job is not the tenant's. */
export async function listJobDeliveries(pool: pg.Pool, tenantId: string, jobId: string, limit: number) {
  const found = await selectJobDeliveries(pool, tenantId, jobId, limit);
  if (!found) return null;
  const byDelivery = new Map<string, AttemptRow[]>();
  for (const a of found.attempts) byDelivery.set(a.delivery_id, [...(byDelivery.get(a.delivery_id) ?? []), a]);
  return found.deliveries.map((d) => deliveryView(d, byDelivery.get(d.id) ?? []));
}

export type RetryResult =
  | { ok: true; delivery: ReturnType<typeof deliveryView> }
  | { ok: false; why: 'not_found' | 'endpoint_disabled' | 'endpoint_deleted' };

/** "Send again now" (see requeueDelivery), unless the delivery's endpoint is disabled or deleted. */
export async function retryDelivery(pool: pg.Pool, tenantId: string, id: string): Promise<RetryResult> {
  const r = await requeueDelivery(pool, tenantId, id);
  if (!r) return { ok: false, why: 'not_found' };
  if (r.endpoint_state === 'disabled') return { ok: false, why: 'endpoint_disabled' };
  if (r.endpoint_state === 'deleted') return { ok: false, why: 'endpoint_deleted' };
  return { ok: true, delivery: deliveryView(r) };
}
