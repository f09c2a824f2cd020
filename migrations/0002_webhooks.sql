-- 0002: webhooks. Downstream systems learn that a job ended from a signed callback, delivered at
-- least once. A delivery is written here in the same transaction that ends the job, so Postgres
-- (not Redis) knows every message still owed; the queue only carries references, and a reconciler
-- re-enqueues whatever is pending here but missing there. Every attempt is kept for the tenant to see.

-- Endpoints a tenant registers once. Secrets sign deliveries (HMAC keys, so they are stored as
-- given); during a rotation the previous secret keeps signing until previous_secret_expires_at.
CREATE TABLE webhook_endpoints (
  id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id                   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  url                         text NOT NULL,
  events                      text[] NOT NULL CHECK (
                                cardinality(events) > 0
                                AND events <@ ARRAY['job.completed', 'job.failed', 'job.cancelled', 'job.progress']),
  description                 text,
  secret                      text NOT NULL,
  previous_secret             text,
  previous_secret_expires_at  timestamptz,
  disabled_at                 timestamptz,  -- set by the tenant, or by us on 410 Gone
  disabled_reason             text,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant_created ON webhook_endpoints (tenant_id, created_at, id);
-- The outbox asks "which enabled endpoints of this tenant want this event" on every job end and
-- every progress tick: a partial index keeps that one lookup small.
CREATE INDEX webhook_endpoints_tenant_enabled ON webhook_endpoints (tenant_id) WHERE disabled_at IS NULL;

-- The secret that signs deliveries to a job's callback_url (one per tenant, created on first use).
CREATE TABLE webhook_tenant_secrets (
  tenant_id                   uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  secret                      text NOT NULL,
  previous_secret             text,
  previous_secret_expires_at  timestamptz,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  rotated_at                  timestamptz
);

-- One row per message per destination. message_id is the webhook-id header: the same on every
-- attempt, and shared by the destinations of one event so receivers can dedupe on it.
CREATE TABLE webhook_deliveries (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id        uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  job_id           uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  destination      text NOT NULL CHECK (destination IN ('callback', 'endpoint')),
  -- NULL with destination 'endpoint' once the endpoint is deleted: the history stays visible.
  endpoint_id      uuid REFERENCES webhook_endpoints(id) ON DELETE SET NULL,
  url              text NOT NULL,                -- where it was addressed when written
  message_id       text NOT NULL,
  event_type       text NOT NULL CHECK (event_type IN ('job.completed', 'job.failed', 'job.cancelled', 'job.progress')),
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempt_count    integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),  -- while an attempt runs: when its lease ends
  last_status_code integer,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  failed_at        timestamptz,
  CHECK (destination = 'endpoint' OR endpoint_id IS NULL)
);
-- The reconciler's scan: pending deliveries by due time.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- GET /v1/jobs/{id}/deliveries.
CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id, created_at, id);
-- A job ends once: a second recordJobEvent for the same end (a redelivered last chunk) adds nothing.
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries
  (job_id, event_type, destination, coalesce(endpoint_id, '00000000-0000-0000-0000-000000000000'::uuid))
  WHERE event_type <> 'job.progress';
-- The progress throttle: the latest job.progress per endpoint and job.
CREATE INDEX webhook_deliveries_progress ON webhook_deliveries (endpoint_id, job_id, created_at DESC)
  WHERE event_type = 'job.progress';
-- ON DELETE SET NULL from endpoints.
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id);

CREATE TABLE webhook_attempts (
  id               bigserial PRIMARY KEY,
  delivery_id      uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  attempt_no       integer NOT NULL,             -- 1-based; manual retries continue the count
  started_at       timestamptz NOT NULL,
  url              text NOT NULL,
  address          text,                         -- the checked address we connected to
  status_code      integer,
  latency_ms       integer NOT NULL,
  outcome          text NOT NULL,                -- success | http_error | timeout | network | dns | refused_address
  error            text,
  response_excerpt text                          -- first few hundred bytes of the response body
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt_no);
