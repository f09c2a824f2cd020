import type pg from 'pg';
import { withTransaction } from './pool.js';

// Writes an attempt of a delivery and what the retry policy decided, in one transaction. Every
// attempt is kept, whatever happened (webhook_attempts). The delivery's state change applies only
// if no later attempt (a manual retry) has moved the delivery on meanwhile; the attempt row is kept
// either way. The caller (the delivery worker) builds the messages stored with a failure.

/** One attempt as it went: the fields of send.ts's AttemptResult that are stored. */
export interface AttemptTaken {
  startedAt: Date;
  latencyMs: number;
  /** The outcome (policy.ts's OutcomeKind). */
  kind: string;
  status?: number;
  address?: string;
  error?: string;
  responseExcerpt?: string;
}

/** What the policy decided, as it is written to the delivery. */
export type AttemptSettlement =
  | { result: 'delivered' }
  | { result: 'retry'; delayMs: number }
  | { result: 'failed'; lastError: string; disableEndpoint?: { endpointId: string; reason: string } };

export async function finishAttempt(
  pool: pg.Pool,
  d: { id: string; attempt_count: number; url: string },
  r: AttemptTaken,
  s: AttemptSettlement,
): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO webhook_attempts (delivery_id, attempt_no, started_at, url, address, status_code, latency_ms, outcome, error, response_excerpt)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [d.id, d.attempt_count, r.startedAt, d.url, r.address ?? null, r.status ?? null, r.latencyMs, r.kind, r.error ?? null, r.responseExcerpt ?? null],
    );
    const last: unknown[] = [d.id, d.attempt_count, r.status ?? null, r.error ?? null];
    if (s.result === 'delivered') {
      await client.query(
        `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), failed_at = NULL, last_status_code = $3, last_error = $4
          WHERE id = $1 AND attempt_count = $2 AND status = 'pending'`,
        last,
      );
    } else if (s.result === 'retry') {
      await client.query(
        `UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $5::double precision / 1000), last_status_code = $3, last_error = $4
          WHERE id = $1 AND attempt_count = $2 AND status = 'pending'`,
        [...last, s.delayMs],
      );
    } else {
      await client.query(
        `UPDATE webhook_deliveries SET status = 'failed', failed_at = now(), last_status_code = $3, last_error = $4
          WHERE id = $1 AND attempt_count = $2 AND status = 'pending'`,
        [...last.slice(0, 3), s.lastError],
      );
      if (s.disableEndpoint) {
        await client.query(
          `UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = $2, updated_at = now()
            WHERE id = $1 AND disabled_at IS NULL`,
          [s.disableEndpoint.endpointId, s.disableEndpoint.reason],
        );
      }
    }
  });
}
