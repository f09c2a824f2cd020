// A dashboard session as its queries return it (migrations/0017_sessions.sql), with what the
// session acts as read from its key and tenant in the same statement.

export interface SessionRow<S extends string = string> {
  id: string;
  key_id: string;
  tenant_id: string;
  /** The tenant's name. */
  tenant: string;
  /** The key's scopes now (a re-scoped key's sessions carry the new ones). */
  scopes: S[];
  key_prefix: string;
  csrf_token: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}
