// The audit log's row: one append-only row per admin or key action (who, what, when, from where).

export type ActorType = 'key' | 'cli' | 'system';

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
