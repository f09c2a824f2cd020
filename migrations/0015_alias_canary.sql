-- 0015: an alias split between versions by weight (a canary), and the history of every alias
-- change (issue 14). Expand only.
--
-- model_aliases.version_id keeps pointing at ONE version, the heaviest of a split (ties: the higher
-- version), so a release before this one still resolves the alias to a version and pins it. The
-- split itself is `split`, a jsonb array [{"version": 2, "weight": 10}, ...] of version numbers
-- (never renumbered; versions are never deleted) and integer weights. It is in force only while
-- `split_at = updated_at`: this release writes both with the same now(); an older release that
-- moves the alias writes updated_at alone, which retires the split it does not know about instead
-- of leaving it to route traffic the older release's change meant to move. A column of
-- model_aliases, so the NOTIFY trigger of 0006 (AFTER INSERT OR UPDATE OR DELETE ON model_aliases)
-- already tells every api's lookup cache when a split changes.
ALTER TABLE model_aliases
  ADD COLUMN split jsonb CHECK (split IS NULL OR jsonb_typeof(split) = 'array'),
  ADD COLUMN split_at timestamptz;

-- Every change made through the api (set, split, rollback), written in the transaction of the
-- change while the model row is locked, so concurrent changes are recorded in the order they took
-- effect, none lost. Targets are [{"version": N, "weight": W}, ...], heaviest first (one version
-- alone weighs 1); `from_target` is null when the change created the alias. Who: the API key
-- (no foreign key: the history outlives a deleted key, and keeps its prefix to recognise it).
CREATE TABLE model_alias_changes (
  id          bigserial PRIMARY KEY,
  model_id    bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  alias       text NOT NULL,
  action      text NOT NULL CHECK (action IN ('set', 'split', 'rollback')),
  from_target jsonb,
  to_target   jsonb NOT NULL,
  -- The promotion guard the change passed ({"metric", "min"/"max", "checked": [{version, value, evaluation_id}]}).
  guard       jsonb,
  key_id      uuid,
  key_prefix  text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- History newest first (keyset on id) and an alias's latest change (rollback).
CREATE INDEX model_alias_changes_alias ON model_alias_changes (model_id, alias, id DESC);
