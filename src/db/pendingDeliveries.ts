import type pg from 'pg';

// Pending deliveries in due order, a page at a time: the reconciler's scan. The cursor carries the
// timestamp as text because a JS Date would cut Postgres' microseconds and repeat a page.

export interface PendingDelivery {
  id: string;
  attempt_count: number;
  next_attempt_at: Date;
  cursor: string;
}

export async function pendingDeliveries(db: pg.Pool | pg.ClientBase, after: { at: string; id: string } | null, limit: number): Promise<PendingDelivery[]> {
  const { rows } = await db.query<PendingDelivery>(
    `SELECT id, attempt_count, next_attempt_at, next_attempt_at::text AS cursor FROM webhook_deliveries
      WHERE status = 'pending' AND ($1::timestamptz IS NULL OR (next_attempt_at, id) > ($1::timestamptz, $2::uuid))
      ORDER BY next_attempt_at, id LIMIT $3`,
    [after?.at ?? null, after?.id ?? null, limit],
  );
  return rows;
}
