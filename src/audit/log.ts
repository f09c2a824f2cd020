import type pg from 'pg';
import type { ActorType } from '../db/auditRow.js';
import { insertAuditEntry } from '../db/insertAuditEntry.js';

// The audit log: one append-only row per admin or key action (who, what, when, from where).
// Written in the same transaction as the action where there is one, so an action that
// committed is never missing from the log. Read with listAudit (src/db/listAudit.ts).

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
  await insertAuditEntry(db, {
    tenantId: e.tenantId, actorType: e.actorType, actor: e.actor, action: e.action, target: e.target ?? null,
    ip: normaliseIp(e.ip), requestId: e.requestId ?? null, details: e.details ?? {},
  });
}

/** "::ffff:127.0.0.1" → "127.0.0.1"; anything that is not an address → null (never fails the insert). */
function normaliseIp(ip: string | null | undefined): string | null {
  if (!ip) return null;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (v4) return v4[1];
  return /^[0-9a-fA-F:.]+$/.test(ip) ? ip : null;
}
