import type pg from 'pg';
import type { AuditRow } from './auditRow.js';

/** A tenant's audit events, newest first, in keyset pages on id (`before`: the last id of the previous page). */
export async function listAudit(db: pg.Pool | pg.ClientBase, tenantId: string, opts: { limit: number; before?: string }): Promise<AuditRow[]> {
  const { rows } = await db.query<AuditRow>(
    `SELECT id::text, at, actor_type, actor, action, target, host(ip) AS ip, request_id, details
       FROM audit_log WHERE tenant_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint)
      ORDER BY id DESC LIMIT $3`,
    [tenantId, opts.before ?? null, opts.limit],
  );
  return rows;
}
