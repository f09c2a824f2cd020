import type pg from 'pg';
import type { ActorType } from './auditRow.js';

/**
 * Appends one row to the audit log. Callers run it in the same transaction as the action where
 * there is one, so an action that committed is never missing from the log. `ip` must already be
 * an address or null (src/audit/log.ts normalises it), so the ::inet cast cannot fail the insert.
 */
export async function insertAuditEntry(
  db: pg.Pool | pg.ClientBase,
  e: { tenantId: string | null; actorType: ActorType; actor: string; action: string; target: string | null; ip: string | null; requestId: string | null; details: Record<string, unknown> },
): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (tenant_id, actor_type, actor, action, target, ip, request_id, details)
     VALUES ($1, $2, $3, $4, $5, $6::inet, $7, $8)`,
    [e.tenantId, e.actorType, e.actor, e.action, e.target, e.ip, e.requestId, e.details],
  );
}
