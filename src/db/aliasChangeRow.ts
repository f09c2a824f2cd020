// A row of model_alias_changes (migrations/0015_alias_canary.sql), as the history queries read it.

/** A target as stored: [{version, weight}] heaviest first (ties: the higher version). */
export type StoredTarget = { version: number; weight: number }[];

export interface AliasChangeRow {
  id: number;
  alias: string;
  action: 'set' | 'split' | 'rollback';
  /** Null when the change created the alias. */
  from_target: StoredTarget | null;
  to_target: StoredTarget;
  /** The promotion guard the change passed, as the route wrote it; null without one. */
  guard: Record<string, unknown> | null;
  key_id: string | null;
  key_prefix: string | null;
  created_at: Date;
}

export const ALIAS_CHANGE_COLUMNS = `c.id, c.alias, c.action, c.from_target, c.to_target, c.guard, c.key_id, c.key_prefix, c.created_at`;
