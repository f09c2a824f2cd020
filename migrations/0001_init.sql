-- 0001: the first schema. Tenants and their keys; models whose bytes live here so a worker on
-- any machine needs nothing but this database; jobs cut into durable chunks (the queue carries
-- only references to them); one prediction row per input row.

CREATE TABLE tenants (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name           text NOT NULL UNIQUE,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id      uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  prefix         text NOT NULL,              -- first characters of the key, shown in listings
  digest         bytea NOT NULL UNIQUE,      -- sha256 of the whole key; the key itself is never stored
  scopes         text[] NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_used_at   timestamptz,
  revoked_at     timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE models (
  id             bigserial PRIMARY KEY,
  tenant_id      uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name           text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name)
);

CREATE TABLE model_versions (
  id             bigserial PRIMARY KEY,
  model_id       bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  version        integer NOT NULL,
  onnx           bytea NOT NULL,             -- the runnable graph (ZipMap removed when the upload had one)
  sha256         text NOT NULL,              -- of the uploaded file
  size_bytes     integer NOT NULL,
  signature      jsonb NOT NULL,             -- how CSV columns become the input tensor and how outputs read
  io             jsonb NOT NULL,             -- inputs/outputs as onnxruntime reports them, and what was rewritten
  metrics        jsonb,                      -- evaluation figures supplied at registration
  description    text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (model_id, version)
);

CREATE TABLE model_aliases (
  model_id       bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  alias          text NOT NULL,
  version_id     bigint NOT NULL REFERENCES model_versions(id),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, alias)
);

CREATE TABLE jobs (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id        uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  model_version_id bigint NOT NULL REFERENCES model_versions(id),
  kind             text NOT NULL CHECK (kind IN ('batch', 'online')),
  status           text NOT NULL CHECK (status IN ('receiving', 'queued', 'running', 'completed', 'failed', 'cancelled')),
  columns          text[] NOT NULL,          -- the upload's header, trimmed; chunks hold data rows only
  delimiter        text NOT NULL DEFAULT ',',
  idempotency_key  text,
  callback_url     text,
  upload_complete  boolean NOT NULL DEFAULT false,
  rows_total       bigint NOT NULL DEFAULT 0, -- grows while receiving; final once upload_complete
  rows_succeeded   bigint NOT NULL DEFAULT 0,
  rows_failed      bigint NOT NULL DEFAULT 0,
  chunks_total     integer NOT NULL DEFAULT 0,
  chunks_done      integer NOT NULL DEFAULT 0,
  error_code       text,
  error_message    text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  progressed_at    timestamptz NOT NULL DEFAULT now(), -- last chunk done or upload progress; the watchdog reads it
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at DESC, id DESC);
CREATE INDEX jobs_unfinished ON jobs (status) WHERE status IN ('receiving', 'queued', 'running');

CREATE TABLE job_chunks (
  job_id         uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq            integer NOT NULL,
  first_row      bigint NOT NULL,            -- 1-based number of the chunk's first data row
  row_count      integer NOT NULL,
  format         text NOT NULL CHECK (format IN ('csv', 'json')),
  payload        bytea,                      -- the rows as uploaded; cleared once the chunk is done
  status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
  attempts       integer NOT NULL DEFAULT 0,
  done_at        timestamptz,
  PRIMARY KEY (job_id, seq)
);
CREATE INDEX job_chunks_pending ON job_chunks (job_id) WHERE status = 'pending';

-- No foreign key to jobs: a per-row FK check would halve COPY speed, and rows are only ever
-- written by the chunk transaction (which holds the job) and deleted with the job by retention.
CREATE TABLE predictions (
  job_id         uuid NOT NULL,
  row_no         bigint NOT NULL,            -- 1-based data row number, header excluded
  value          double precision,           -- regression value, or the class index for classification
  scores         real[],                     -- class probabilities, or the raw output tensor
  passthrough    text[],                     -- the signature's passthrough columns, in order
  error          text,                       -- set when the row could not be scored
  PRIMARY KEY (job_id, row_no)
);
