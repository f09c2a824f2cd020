import type pg from 'pg';

// A delivery that can never be attempted (its endpoint is disabled or gone) fails, visibly, with
// the reason given; only if it still expects this attempt, so a manual retry meanwhile wins.
export async function failUnattempted(db: pg.Pool | pg.ClientBase, deliveryId: string, attempt: number, reason: string): Promise<void> {
  await db.query(
    `UPDATE webhook_deliveries SET status = 'failed', failed_at = now(), last_error = $3
      WHERE id = $1 AND status = 'pending' AND attempt_count = $2`,
    [deliveryId, attempt, reason],
  );
}
