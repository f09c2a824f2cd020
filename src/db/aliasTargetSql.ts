// An alias's target as shown and compared: its split while in force (split_at = updated_at,
// migrations/0015_alias_canary.sql), else its one version at weight 1. `a` is model_aliases; the
// version_id's number is looked up by the caller's statement as `mv` (model_versions).

/** jsonb [{version, weight}, ...], heaviest first (the order written). */
export const ALIAS_TARGET_SQL = `CASE WHEN a.split IS NOT NULL AND a.split_at = a.updated_at THEN a.split
  ELSE jsonb_build_array(jsonb_build_object('version', mv.version, 'weight', 1)) END`;

/** A target as read: versions heaviest first. */
export interface TargetRow {
  alias: string;
  versions: { version: number; weight: number }[];
  updated_at: Date;
}
