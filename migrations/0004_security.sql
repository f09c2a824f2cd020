-- 0004: security. Sluice holds other companies' data, so who did what to keys and other
-- admin-level state must be answerable after the fact: an append-only audit log in Postgres
-- (who: the key or the CLI operator; what: the action and its target; when; from where: the
-- client address and the request id that is also in the api's logs). Keys also get an optional
-- name, so a listing that shows only prefixes stays readable. (0003 belongs to another change.)

ALTER TABLE api_keys ADD COLUMN name text;

CREATE TABLE audit_log (
  id           bigserial PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  tenant_id    uuid REFERENCES tenants(id) ON DELETE CASCADE,
  actor_type   text NOT NULL CHECK (actor_type IN ('key', 'cli', 'system')),
  actor        text NOT NULL,            -- api key id, or the operator's OS user for the CLI
  action       text NOT NULL,            -- e.g. key.created, key.revoked
  target       text,                     -- what the action was about, e.g. the key id
  ip           inet,                     -- the client's address (null for the CLI)
  request_id   text,                     -- the X-Request-Id of the request, also in the logs
  details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at DESC, id DESC);
