import type pg from 'pg';
import type { DeliveryRow } from './deliveryRow.js';

// "Send again now": the delivery becomes pending and due, whatever its state, keeping its
// webhook-id, unless its endpoint is disabled or deleted. The attempt count goes on from where it
// was, so a delivery that had used up its schedule gets exactly one more attempt.
// Returns null when the tenant has no such delivery; otherwise its endpoint's state and, when it
// was requeued (endpoint_state null or 'enabled'), the updated row; its columns are null otherwise.

export type RequeuedDelivery = DeliveryRow & { endpoint_state: 'enabled' | 'disabled' | 'deleted' | null };

export async function requeueDelivery(db: pg.Pool | pg.ClientBase, tenantId: string, id: string): Promise<RequeuedDelivery | null> {
  const { rows } = await db.query<RequeuedDelivery>(
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
  return rows[0] ?? null;
}
