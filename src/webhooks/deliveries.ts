import type pg from 'pg';
import { withTransaction } from '../db/pool.js';
import type { Decision } from './policy.js';
import { recordAttempt, type AttemptResult } from './send.js';

// Every query the webhook worker runs against deliveries, in one place.

/** The columns every view of a delivery row shares. */
interface DeliveryBase {
  id: string;
  job_id: string;
  destination: 'callback' | 'endpoint';
  endpoint_id: string | null;
  url: string;
  message_id: string;
  event_type: string;
}

export interface ClaimedDelivery extends DeliveryBase {
  tenant_id: string;
  payload: unknown;
  /** This attempt's number (1-based). */
  attempt_count: number;
  secret: string | null;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
}

/**
 * Takes the attempt: only when the delivery is pending, still expects this attempt, is due, and
 * its endpoint is enabled. The count moves on at once and next_attempt_at becomes a lease, so a
 * second worker holding the same reference does nothing and the reconciler waits the lease out.
 * An endpoint's current URL and secrets are used (a PATCHed URL applies to pending deliveries).
 */
export async function claimDelivery(pool: pg.Pool, deliveryId: string, attempt: number, leaseMs: number): Promise<ClaimedDelivery | null> {
  const { rows } = await pool.query<ClaimedDelivery>(
    `WITH claimed AS (
       UPDATE webhook_deliveries d
          SET attempt_count = d.attempt_count + 1, next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
        WHERE d.id = $1 AND d.status = 'pending' AND d.attempt_count = $2
          AND d.next_attempt_at <= now() + interval '100 milliseconds'
          AND (d.destination = 'callback'
               OR EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id AND e.disabled_at IS NULL))
        RETURNING d.*
     )
     SELECT c.id, c.tenant_id, c.job_id, c.destination, c.endpoint_id, coalesce(e.url, c.url) AS url, c.message_id,
            c.event_type, c.payload, c.attempt_count,
            coalesce(e.secret, s.secret) AS secret,
            coalesce(e.previous_secret, s.previous_secret) AS previous_secret,
            coalesce(e.previous_secret_expires_at, s.previous_secret_expires_at) AS previous_secret_expires_at
       FROM claimed c
       LEFT JOIN webhook_endpoints e ON e.id = c.endpoint_id
       LEFT JOIN webhook_tenant_secrets s ON s.tenant_id = c.tenant_id AND c.destination = 'callback'`,
    [deliveryId, attempt, leaseMs],
  );
  return rows[0] ?? null;
}

export interface DeliveryState {
  status: 'pending' | 'delivered' | 'failed';
  attempt_count: number;
  next_attempt_at: Date;
  destination: 'callback' | 'endpoint';
  endpoint_state: 'enabled' | 'disabled' | 'deleted' | null;
}

/** Why a claim found nothing to do. */
export async function deliveryState(pool: pg.Pool, deliveryId: string): Promise<DeliveryState | null> {
  const { rows } = await pool.query<DeliveryState>(
    `SELECT d.status, d.attempt_count, d.next_attempt_at, d.destination,
            CASE WHEN d.destination = 'callback' THEN NULL WHEN e.id IS NULL THEN 'deleted'
                 WHEN e.disabled_at IS NULL THEN 'enabled' ELSE 'disabled' END AS endpoint_state
       FROM webhook_deliveries d LEFT JOIN webhook_endpoints e ON e.id = d.endpoint_id
      WHERE d.id = $1`,
    [deliveryId],
  );
  return rows[0] ?? null;
}

/** A delivery that can never be attempted (its endpoint is disabled or gone) fails, visibly. */
export async function failUnattempted(pool: pg.Pool, deliveryId: string, attempt: number, reason: string): Promise<void> {
  await pool.query(
    `UPDATE webhook_deliveries SET status = 'failed', failed_at = now(), last_error = $3
      WHERE id = $1 AND status = 'pending' AND attempt_count = $2`,
    [deliveryId, attempt, reason],
  );
}

/**
 * Writes the attempt and what the policy decided, in one transaction. The state change applies
 * only if no later attempt (a manual retry) has moved the delivery on meanwhile; the attempt row
 * is kept either way.
 */
export async function finishAttempt(pool: pg.Pool, d: ClaimedDelivery, r: AttemptResult, decision: Decision): Promise<void> {
  await withTransaction(pool, async (client) => {
      await recordAttempt(client, d.id, d.attempt_count, d.url, r);
      const last: unknown[] = [d.id, d.attempt_count, r.status ?? null, r.error ?? null];
      if (decision.result === 'delivered') {
        await client.query(
          `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), failed_at = NULL, last_status_code = $3, last_error = $4
            WHERE id = $1 AND attempt_count = $2 AND status = 'pending'`,
          last,
        );
      } else if (decision.result === 'retry') {
        await client.query(
          `UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $5::double precision / 1000), last_status_code = $3, last_error = $4
            WHERE id = $1 AND attempt_count = $2 AND status = 'pending'`,
          [...last, decision.delayMs],
        );
      } else {
        await client.query(
          `UPDATE webhook_deliveries SET status = 'failed', failed_at = now(), last_status_code = $3, last_error = $4
            WHERE id = $1 AND attempt_count = $2 AND status = 'pending'`,
          [...last.slice(0, 3), `${r.error ?? 'failed'}; gave up: ${decision.reason}`],
        );
        if (decision.disableEndpoint && d.endpoint_id) {
          await client.query(
            `UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = $2, updated_at = now()
              WHERE id = $1 AND disabled_at IS NULL`,
            [d.endpoint_id, `${decision.reason} at ${r.startedAt.toISOString()}`],
          );
        }
      }
  });
}

/**
 * Pending deliveries in due order, a page at a time: the reconciler's scan. The cursor carries the
 * timestamp as text because a JS Date would cut Postgres' microseconds and repeat a page.
 */
export async function pendingDeliveries(pool: pg.Pool, after: { at: string; id: string } | null, limit: number) {
  const { rows } = await pool.query<{ id: string; attempt_count: number; next_attempt_at: Date; cursor: string }>(
    `SELECT id, attempt_count, next_attempt_at, next_attempt_at::text AS cursor FROM webhook_deliveries
      WHERE status = 'pending' AND ($1::timestamptz IS NULL OR (next_attempt_at, id) > ($1::timestamptz, $2::uuid))
      ORDER BY next_attempt_at, id LIMIT $3`,
    [after?.at ?? null, after?.id ?? null, limit],
  );
  return rows;
}

// ---- What the api reads and writes: the tenant's view of its deliveries.

interface DeliveryRow extends DeliveryBase {
  status: 'pending' | 'delivered' | 'failed';
  attempt_count: number;
  next_attempt_at: Date;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  failed_at: Date | null;
}

interface AttemptRow {
  delivery_id: string;
  attempt_no: number;
  started_at: Date;
  url: string;
  address: string | null;
  status_code: number | null;
  latency_ms: number;
  outcome: string;
  error: string | null;
  response_excerpt: string | null;
}

const DELIVERY_COLUMNS = `id, job_id, destination, endpoint_id, url, message_id, event_type, status, attempt_count, next_attempt_at,
  last_status_code, last_error, created_at, delivered_at, failed_at`;

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
  const job = await pool.query(`SELECT 1 FROM jobs WHERE id = $1 AND tenant_id = $2`, [jobId, tenantId]);
  if (job.rowCount === 0) return null;
  const { rows } = await pool.query<DeliveryRow>(
    `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE job_id = $1 AND tenant_id = $2 ORDER BY created_at, id LIMIT $3`,
    [jobId, tenantId, limit],
  );
  const attempts = await pool.query<AttemptRow>(
    `SELECT delivery_id, attempt_no, started_at, url, address, status_code, latency_ms, outcome, error, response_excerpt
       FROM webhook_attempts WHERE delivery_id = ANY ($1::uuid[]) ORDER BY delivery_id, attempt_no, id`,
    [rows.map((r) => r.id)],
  );
  const byDelivery = new Map<string, AttemptRow[]>();
  for (const a of attempts.rows) byDelivery.set(a.delivery_id, [...(byDelivery.get(a.delivery_id) ?? []), a]);
  return rows.map((d) => deliveryView(d, byDelivery.get(d.id) ?? []));
}

export type RetryResult =
  | { ok: true; delivery: ReturnType<typeof deliveryView> }
  | { ok: false; why: 'not_found' | 'endpoint_disabled' | 'endpoint_deleted' };

/**
 * "Send again now": the delivery becomes pending and due, whatever its state, keeping its
 * webhook-id. The attempt count goes on from where it was, so a delivery that had used up its
 * schedule gets exactly one more attempt.
 */
export async function requeueDelivery(pool: pg.Pool, tenantId: string, id: string): Promise<RetryResult> {
  const { rows } = await pool.query<DeliveryRow & { endpoint_state: string | null }>(
    `WITH target AS (
       SELECT d.id, CASE WHEN d.destination = 'callback' THEN NULL WHEN e.id IS NULL THEN 'deleted'
                         WHEN e.disabled_at IS NULL THEN 'enabled' ELSE 'disabled' END AS endpoint_state
         FROM webhook_deliveries d LEFT JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.id = $1 AND d.tenant_id = $2
     ), updated AS (
       UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = now(), delivered_at = NULL, failed_at = NULL
         FROM target t WHERE d.id = t.id AND coalesce(t.endpoint_state, 'enabled') = 'enabled'
       RETURNING d.*
     )
     SELECT t.endpoint_state, u.* FROM target t LEFT JOIN updated u ON u.id = t.id`,
    [id, tenantId],
  );
  const r = rows[0];
  if (!r) return { ok: false, why: 'not_found' };
  if (r.endpoint_state === 'disabled') return { ok: false, why: 'endpoint_disabled' };
  if (r.endpoint_state === 'deleted') return { ok: false, why: 'endpoint_deleted' };
  return { ok: true, delivery: deliveryView(r) };
}
