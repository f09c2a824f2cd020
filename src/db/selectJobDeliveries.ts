import type pg from 'pg';
import { DELIVERY_COLUMNS, type AttemptRow, type DeliveryRow } from './deliveryRow.js';

// A job's deliveries, oldest first, and every attempt at them (GET /v1/jobs/{id}/deliveries).
// Null when the job is not the tenant's: a job of another tenant is indistinguishable from a
// missing one.
export async function selectJobDeliveries(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  jobId: string,
  limit: number,
): Promise<{ deliveries: DeliveryRow[]; attempts: AttemptRow[] } | null> {
  const job = await db.query(`SELECT 1 FROM jobs WHERE id = $1 AND tenant_id = $2`, [jobId, tenantId]);
  if (job.rowCount === 0) return null;
  const { rows } = await db.query<DeliveryRow>(
    `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE job_id = $1 AND tenant_id = $2 ORDER BY created_at, id LIMIT $3`,
    [jobId, tenantId, limit],
  );
  const attempts = await db.query<AttemptRow>(
    `SELECT delivery_id, attempt_no, started_at, url, address, status_code, latency_ms, outcome, error, response_excerpt
       FROM webhook_attempts WHERE delivery_id = ANY ($1::uuid[]) ORDER BY delivery_id, attempt_no, id`,
    [rows.map((r) => r.id)],
  );
  return { deliveries: rows, attempts: attempts.rows };
}
