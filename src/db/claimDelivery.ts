import type pg from 'pg';
import type { DeliveryBase } from './deliveryRow.js';
import type { StoredSecrets } from './storedSecrets.js';

// Takes an attempt of a delivery for the delivery worker: only when the delivery is pending, still
// expects this attempt, is due, and its endpoint is enabled. The count moves on at once and
// next_attempt_at becomes a lease, so a second worker holding the same reference does nothing and
// the reconciler waits the lease out. An endpoint's current URL and secrets are used (a PATCHed
// URL applies to pending deliveries). The secrets come as stored (see storedSecrets.ts): all null
// for a callback delivery of a tenant that has no default secret yet.

export interface ClaimedDelivery extends DeliveryBase, StoredSecrets {
  tenant_id: string;
  payload: unknown;
  /** This attempt's number (1-based). */
  attempt_count: number;
}

export async function claimDelivery(db: pg.Pool | pg.ClientBase, deliveryId: string, attempt: number, leaseMs: number): Promise<ClaimedDelivery | null> {
  const { rows } = await db.query<ClaimedDelivery>(
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
            coalesce(e.secret_enc, s.secret_enc) AS secret_enc,
            coalesce(e.previous_secret, s.previous_secret) AS previous_secret,
            coalesce(e.previous_secret_enc, s.previous_secret_enc) AS previous_secret_enc,
            coalesce(e.previous_secret_expires_at, s.previous_secret_expires_at) AS previous_secret_expires_at
       FROM claimed c
       LEFT JOIN webhook_endpoints e ON e.id = c.endpoint_id
       LEFT JOIN webhook_tenant_secrets s ON s.tenant_id = c.tenant_id AND c.destination = 'callback'`,
    [deliveryId, attempt, leaseMs],
  );
  return rows[0] ?? null;
}
