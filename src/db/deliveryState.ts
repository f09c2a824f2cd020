import type pg from 'pg';

// Why a claim (claimDelivery) found nothing to do: the delivery's state and its endpoint's, so the
// delivery worker can tell a stale reference from an early one or an undeliverable one.

export interface DeliveryState {
  status: 'pending' | 'delivered' | 'failed';
  attempt_count: number;
  next_attempt_at: Date;
  destination: 'callback' | 'endpoint';
  endpoint_state: 'enabled' | 'disabled' | 'deleted' | null;
}

export async function deliveryState(db: pg.Pool | pg.ClientBase, deliveryId: string): Promise<DeliveryState | null> {
  const { rows } = await db.query<DeliveryState>(
    `SELECT d.status, d.attempt_count, d.next_attempt_at, d.destination,
            CASE WHEN d.destination = 'callback' THEN NULL WHEN e.id IS NULL THEN 'deleted'
                 WHEN e.disabled_at IS NULL THEN 'enabled' ELSE 'disabled' END AS endpoint_state
       FROM webhook_deliveries d LEFT JOIN webhook_endpoints e ON e.id = d.endpoint_id
      WHERE d.id = $1`,
    [deliveryId],
  );
  return rows[0] ?? null;
}
