import type pg from 'pg';

// The audit log: one append-only row per admin or key action (who, what, when, from where).
// Written in the same transaction as the action where there is one, so an action that
// committed is never missing from the log.

export type ActorType = 'key' | 'cli' | 'system';

export interface AuditEntry {
  tenantId: string | null;
  actorType: ActorType;
  /** The api key id, or the operator's OS user for the CLI. */
  actor: string;
  action: string;
  target?: string | null;
  ip?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown>;
}

export async function recordAudit(db: pg.Pool | pg.ClientBase, e: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (tenant_id, actor_type, actor, action, target, ip, request_id, details)
     VALUES ($1, $2, $3, $4, $5, $6::inet, $7, $8)`,
    [e.tenantId, e.actorType, e.actor, e.action, e.target ?? null, normaliseIp(e.ip), e.requestId ?? null, e.details ?? {}],
  );
}

/** "::ffff:127.0.0.1" → "127.0.0.1"; anything that is not an address → null (never fails the insert). */
function normaliseIp(ip: string | null | undefined): string | null {
  if (!ip) return null;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (v4) return v4[1];
  return /^[0-9a-fA-F:.]+$/.test(ip) ? ip : null;
}

export interface AuditRow {
  id: string;
  at: Date;
  actor_type: ActorType;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

/** A tenant's audit events, newest first, in keyset pages on id. */
export async function listAudit(db: pg.Pool, tenantId: string, opts: { limit: number; before?: string }): Promise<AuditRow[]> {
  const { rows } = await db.query<AuditRow>(
    `SELECT id::text, at, actor_type, actor, action, target, host(ip) AS ip, request_id, details
       FROM audit_log WHERE tenant_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint)
      ORDER BY id DESC LIMIT $3`,
    [tenantId, opts.before ?? null, opts.limit],
  );
  return rows;
}
