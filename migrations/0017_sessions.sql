-- 0017: dashboard sessions (issue 16; docs/security.md, "Dashboard sessions"). An API key typed into
-- the dashboard's sign-in page is exchanged for a session: the browser holds only a random token in
-- an HttpOnly cookie, Postgres only the token's sha256 digest. A row, not a signed cookie, so that
-- signing out deletes it (the cookie is dead at once, in every api process) and every request reads
-- the key's revoked_at and scopes through the join on key_id (revocation and re-scoping apply at
-- the next request). Expand only: a new table.
CREATE TABLE dashboard_sessions (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- sha256 of the cookie's token; the token itself is never stored.
  digest        bytea NOT NULL UNIQUE,
  key_id        uuid NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  -- What cookie-authenticated writes send back in X-CSRF-Token (synchronizer token). Useless
  -- without the cookie's token, which is not here.
  csrf_token    text NOT NULL,
  created_at    timestamptz NOT NULL,
  -- Last recorded use, for the sliding idle expiry (SESSION_IDLE_MINUTES); written at most about
  -- once a minute per session, not per request.
  last_seen_at  timestamptz NOT NULL,
  -- Absolute end (SESSION_MAX_HOURS after sign-in), whatever the activity.
  expires_at    timestamptz NOT NULL
);
CREATE INDEX dashboard_sessions_key ON dashboard_sessions (key_id, created_at);
-- Sign-ins sweep a bounded number of expired rows by this.
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);
