CREATE FUNCTION public.sluice_notify_all_lookups() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  PERFORM pg_notify('sluice_lookups', 'all');
  RETURN NULL;
END $$;

CREATE FUNCTION public.sluice_notify_key_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  PERFORM pg_notify('sluice_lookups', 'key:' || OLD.id);
  RETURN NULL;
END $$;

CREATE FUNCTION public.sluice_notify_model_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  PERFORM pg_notify('sluice_lookups', 'models:' || OLD.tenant_id);
  IF TG_OP = 'UPDATE' AND NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
    PERFORM pg_notify('sluice_lookups', 'models:' || NEW.tenant_id);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION public.sluice_notify_model_ref_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
  t uuid;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT tenant_id INTO t FROM models WHERE id = OLD.model_id;
    IF t IS NOT NULL THEN PERFORM pg_notify('sluice_lookups', 'models:' || t); END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT tenant_id INTO t FROM models WHERE id = NEW.model_id;
    IF t IS NOT NULL THEN PERFORM pg_notify('sluice_lookups', 'models:' || t); END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE TABLE public.api_keys (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    prefix text NOT NULL,
    digest bytea NOT NULL,
    scopes text[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    name text
);

CREATE TABLE public.audit_log (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    tenant_id uuid,
    actor_type text NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target text,
    ip inet,
    request_id text,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT audit_log_actor_type_check CHECK ((actor_type = ANY (ARRAY['key'::text, 'cli'::text, 'system'::text])))
);

CREATE SEQUENCE public.audit_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.audit_log_id_seq OWNED BY public.audit_log.id;

CREATE TABLE public.dashboard_sessions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    digest bytea NOT NULL,
    key_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    csrf_token text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

CREATE TABLE public.expired_jobs (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    status text NOT NULL,
    finished_at timestamp with time zone,
    expired_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.job_chunk_metrics (
    job_id uuid NOT NULL,
    seq integer NOT NULL,
    metrics jsonb NOT NULL
);

CREATE TABLE public.job_chunks (
    job_id uuid NOT NULL,
    seq integer NOT NULL,
    first_row bigint NOT NULL,
    row_count integer NOT NULL,
    format text NOT NULL,
    payload bytea,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    done_at timestamp with time zone,
    first_line integer,
    line_jumps integer[],
    CONSTRAINT job_chunks_format_check CHECK ((format = ANY (ARRAY['csv'::text, 'json'::text]))),
    CONSTRAINT job_chunks_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'done'::text])))
);
ALTER TABLE ONLY public.job_chunks ALTER COLUMN payload SET STORAGE EXTERNAL;

CREATE TABLE public.job_errors (
    job_id uuid NOT NULL,
    code text NOT NULL,
    message text NOT NULL,
    count bigint NOT NULL,
    first_rows bigint[] NOT NULL
);

CREATE TABLE public.jobs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    model_version_id bigint NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    columns text[] NOT NULL,
    delimiter text DEFAULT ','::text NOT NULL,
    idempotency_key text,
    callback_url text,
    upload_complete boolean DEFAULT false NOT NULL,
    rows_total bigint DEFAULT 0 NOT NULL,
    rows_succeeded bigint DEFAULT 0 NOT NULL,
    rows_failed bigint DEFAULT 0 NOT NULL,
    chunks_total integer DEFAULT 0 NOT NULL,
    chunks_done integer DEFAULT 0 NOT NULL,
    error_code text,
    error_message text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    progressed_at timestamp with time zone DEFAULT now() NOT NULL,
    request_digest text,
    body_digest text,
    max_error_rate real,
    "decimal" text DEFAULT '.'::text NOT NULL,
    base_url text,
    label_column text,
    compare_model_version_id bigint,
    record_evaluation boolean DEFAULT false NOT NULL,
    evaluation jsonb,
    compare_evaluation jsonb,
    agreement jsonb,
    retry_of uuid,
    routing jsonb,
    CONSTRAINT jobs_decimal_check CHECK (("decimal" = ANY (ARRAY['.'::text, ','::text]))),
    CONSTRAINT jobs_kind_check CHECK ((kind = ANY (ARRAY['batch'::text, 'online'::text]))),
    CONSTRAINT jobs_max_error_rate_check CHECK (((max_error_rate >= (0)::double precision) AND (max_error_rate <= (1)::double precision))),
    CONSTRAINT jobs_status_check CHECK ((status = ANY (ARRAY['receiving'::text, 'queued'::text, 'running'::text, 'completed'::text, 'failed'::text, 'cancelled'::text])))
);

CREATE TABLE public.model_alias_changes (
    id bigint NOT NULL,
    model_id bigint NOT NULL,
    alias text NOT NULL,
    action text NOT NULL,
    from_target jsonb,
    to_target jsonb NOT NULL,
    guard jsonb,
    key_id uuid,
    key_prefix text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT model_alias_changes_action_check CHECK ((action = ANY (ARRAY['set'::text, 'split'::text, 'rollback'::text])))
);

CREATE SEQUENCE public.model_alias_changes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.model_alias_changes_id_seq OWNED BY public.model_alias_changes.id;

CREATE TABLE public.model_aliases (
    model_id bigint NOT NULL,
    alias text NOT NULL,
    version_id bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    split jsonb,
    split_at timestamp with time zone,
    CONSTRAINT model_aliases_split_check CHECK (((split IS NULL) OR (jsonb_typeof(split) = 'array'::text)))
);

CREATE TABLE public.model_evaluations (
    id bigint NOT NULL,
    model_version_id bigint NOT NULL,
    job_id uuid NOT NULL,
    dataset_digest text,
    label_column text NOT NULL,
    rows bigint NOT NULL,
    metrics jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE SEQUENCE public.model_evaluations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.model_evaluations_id_seq OWNED BY public.model_evaluations.id;

CREATE TABLE public.model_versions (
    id bigint NOT NULL,
    model_id bigint NOT NULL,
    version integer NOT NULL,
    onnx bytea NOT NULL,
    sha256 text NOT NULL,
    size_bytes integer NOT NULL,
    signature jsonb NOT NULL,
    io jsonb NOT NULL,
    metrics jsonb,
    description text,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE SEQUENCE public.model_versions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.model_versions_id_seq OWNED BY public.model_versions.id;

CREATE TABLE public.models (
    id bigint NOT NULL,
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE SEQUENCE public.models_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.models_id_seq OWNED BY public.models.id;

CREATE TABLE public.prediction_chunks (
    job_id uuid NOT NULL,
    first_row bigint NOT NULL,
    row_count integer NOT NULL,
    rows bytea,
    error text,
    CONSTRAINT prediction_chunks_check CHECK (((row_count > 0) AND ((rows IS NULL) <> (error IS NULL))))
);
ALTER TABLE ONLY public.prediction_chunks ALTER COLUMN rows SET STORAGE EXTERNAL;

CREATE TABLE public.retry_row_numbers (
    job_id uuid NOT NULL,
    first_row bigint NOT NULL,
    source_rows bigint[] NOT NULL,
    first_source bigint NOT NULL,
    CONSTRAINT retry_row_numbers_check CHECK (((cardinality(source_rows) > 0) AND (first_source = source_rows[1])))
);

CREATE TABLE public.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL,
    requires integer
);

CREATE TABLE public.tenants (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.webhook_attempts (
    id bigint NOT NULL,
    delivery_id uuid NOT NULL,
    attempt_no integer NOT NULL,
    started_at timestamp with time zone NOT NULL,
    url text NOT NULL,
    address text,
    status_code integer,
    latency_ms integer NOT NULL,
    outcome text NOT NULL,
    error text,
    response_excerpt text
);

CREATE SEQUENCE public.webhook_attempts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.webhook_attempts_id_seq OWNED BY public.webhook_attempts.id;

CREATE TABLE public.webhook_deliveries (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    job_id uuid NOT NULL,
    destination text NOT NULL,
    endpoint_id uuid,
    url text NOT NULL,
    message_id text NOT NULL,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempt_count integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    last_status_code integer,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    delivered_at timestamp with time zone,
    failed_at timestamp with time zone,
    CONSTRAINT webhook_deliveries_check CHECK (((destination = 'endpoint'::text) OR (endpoint_id IS NULL))),
    CONSTRAINT webhook_deliveries_destination_check CHECK ((destination = ANY (ARRAY['callback'::text, 'endpoint'::text]))),
    CONSTRAINT webhook_deliveries_event_type_check CHECK ((event_type = ANY (ARRAY['job.completed'::text, 'job.failed'::text, 'job.cancelled'::text, 'job.progress'::text]))),
    CONSTRAINT webhook_deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text])))
);

CREATE TABLE public.webhook_endpoints (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    url text NOT NULL,
    events text[] NOT NULL,
    description text,
    secret text,
    previous_secret text,
    previous_secret_expires_at timestamp with time zone,
    disabled_at timestamp with time zone,
    disabled_reason text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    secret_enc text,
    previous_secret_enc text,
    secret_fingerprint text,
    CONSTRAINT webhook_endpoints_events_check CHECK (((cardinality(events) > 0) AND (events <@ ARRAY['job.completed'::text, 'job.failed'::text, 'job.cancelled'::text, 'job.progress'::text]))),
    CONSTRAINT webhook_endpoints_has_secret CHECK (((secret IS NOT NULL) OR (secret_enc IS NOT NULL)))
);

CREATE TABLE public.webhook_tenant_secrets (
    tenant_id uuid NOT NULL,
    secret text,
    previous_secret text,
    previous_secret_expires_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    rotated_at timestamp with time zone,
    secret_enc text,
    previous_secret_enc text,
    secret_fingerprint text,
    CONSTRAINT webhook_tenant_secrets_has_secret CHECK (((secret IS NOT NULL) OR (secret_enc IS NOT NULL)))
);

ALTER TABLE ONLY public.audit_log ALTER COLUMN id SET DEFAULT nextval('public.audit_log_id_seq'::regclass);

ALTER TABLE ONLY public.model_alias_changes ALTER COLUMN id SET DEFAULT nextval('public.model_alias_changes_id_seq'::regclass);

ALTER TABLE ONLY public.model_evaluations ALTER COLUMN id SET DEFAULT nextval('public.model_evaluations_id_seq'::regclass);

ALTER TABLE ONLY public.model_versions ALTER COLUMN id SET DEFAULT nextval('public.model_versions_id_seq'::regclass);

ALTER TABLE ONLY public.models ALTER COLUMN id SET DEFAULT nextval('public.models_id_seq'::regclass);

ALTER TABLE ONLY public.webhook_attempts ALTER COLUMN id SET DEFAULT nextval('public.webhook_attempts_id_seq'::regclass);

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_digest_key UNIQUE (digest);

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.dashboard_sessions
    ADD CONSTRAINT dashboard_sessions_digest_key UNIQUE (digest);

ALTER TABLE ONLY public.dashboard_sessions
    ADD CONSTRAINT dashboard_sessions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.expired_jobs
    ADD CONSTRAINT expired_jobs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.job_chunk_metrics
    ADD CONSTRAINT job_chunk_metrics_pkey PRIMARY KEY (job_id, seq);

ALTER TABLE ONLY public.job_chunks
    ADD CONSTRAINT job_chunks_pkey PRIMARY KEY (job_id, seq);

ALTER TABLE ONLY public.job_errors
    ADD CONSTRAINT job_errors_pkey PRIMARY KEY (job_id, code, message);

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_tenant_id_idempotency_key_key UNIQUE (tenant_id, idempotency_key);

ALTER TABLE ONLY public.model_alias_changes
    ADD CONSTRAINT model_alias_changes_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.model_aliases
    ADD CONSTRAINT model_aliases_pkey PRIMARY KEY (model_id, alias);

ALTER TABLE ONLY public.model_evaluations
    ADD CONSTRAINT model_evaluations_job_id_model_version_id_key UNIQUE (job_id, model_version_id);

ALTER TABLE ONLY public.model_evaluations
    ADD CONSTRAINT model_evaluations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.model_versions
    ADD CONSTRAINT model_versions_model_id_version_key UNIQUE (model_id, version);

ALTER TABLE ONLY public.model_versions
    ADD CONSTRAINT model_versions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.models
    ADD CONSTRAINT models_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.models
    ADD CONSTRAINT models_tenant_id_name_key UNIQUE (tenant_id, name);

ALTER TABLE ONLY public.prediction_chunks
    ADD CONSTRAINT prediction_chunks_pkey PRIMARY KEY (job_id, first_row);

ALTER TABLE ONLY public.retry_row_numbers
    ADD CONSTRAINT retry_row_numbers_pkey PRIMARY KEY (job_id, first_row);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_name_key UNIQUE (name);

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_attempts
    ADD CONSTRAINT webhook_attempts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_tenant_secrets
    ADD CONSTRAINT webhook_tenant_secrets_pkey PRIMARY KEY (tenant_id);

CREATE INDEX api_keys_tenant ON public.api_keys USING btree (tenant_id);

CREATE INDEX audit_log_tenant_at ON public.audit_log USING btree (tenant_id, at DESC, id DESC);

CREATE INDEX dashboard_sessions_expires ON public.dashboard_sessions USING btree (expires_at);

CREATE INDEX dashboard_sessions_key ON public.dashboard_sessions USING btree (key_id, created_at);

CREATE INDEX expired_jobs_expired_at ON public.expired_jobs USING btree (expired_at);

CREATE INDEX job_chunks_pending ON public.job_chunks USING btree (job_id) WHERE (status = 'pending'::text);

CREATE INDEX jobs_finished_at ON public.jobs USING btree (finished_at) WHERE (status = ANY (ARRAY['completed'::text, 'failed'::text, 'cancelled'::text]));

CREATE INDEX jobs_retry_of ON public.jobs USING btree (retry_of) WHERE (retry_of IS NOT NULL);

CREATE INDEX jobs_tenant_created ON public.jobs USING btree (tenant_id, created_at DESC, id DESC);

CREATE INDEX jobs_unfinished ON public.jobs USING btree (status) WHERE (status = ANY (ARRAY['receiving'::text, 'queued'::text, 'running'::text]));

CREATE INDEX jobs_unfinished_progress ON public.jobs USING btree (progressed_at) WHERE (status = ANY (ARRAY['receiving'::text, 'queued'::text, 'running'::text]));

CREATE INDEX model_alias_changes_alias ON public.model_alias_changes USING btree (model_id, alias, id DESC);

CREATE INDEX model_evaluations_version ON public.model_evaluations USING btree (model_version_id, created_at DESC);

CREATE INDEX retry_row_numbers_source ON public.retry_row_numbers USING btree (job_id, first_source);

CREATE INDEX webhook_attempts_delivery ON public.webhook_attempts USING btree (delivery_id, attempt_no);

CREATE INDEX webhook_deliveries_endpoint ON public.webhook_deliveries USING btree (endpoint_id);

CREATE INDEX webhook_deliveries_job ON public.webhook_deliveries USING btree (job_id, created_at, id);

CREATE UNIQUE INDEX webhook_deliveries_once ON public.webhook_deliveries USING btree (job_id, event_type, destination, COALESCE(endpoint_id, '00000000-0000-0000-0000-000000000000'::uuid)) WHERE (event_type <> 'job.progress'::text);

CREATE INDEX webhook_deliveries_pending ON public.webhook_deliveries USING btree (next_attempt_at) WHERE (status = 'pending'::text);

CREATE INDEX webhook_deliveries_progress ON public.webhook_deliveries USING btree (endpoint_id, job_id, created_at DESC) WHERE (event_type = 'job.progress'::text);

CREATE INDEX webhook_endpoints_tenant_created ON public.webhook_endpoints USING btree (tenant_id, created_at, id);

CREATE INDEX webhook_endpoints_tenant_enabled ON public.webhook_endpoints USING btree (tenant_id) WHERE (disabled_at IS NULL);

CREATE TRIGGER api_keys_notify_delete AFTER DELETE ON public.api_keys FOR EACH ROW EXECUTE FUNCTION public.sluice_notify_key_change();

CREATE TRIGGER api_keys_notify_truncate AFTER TRUNCATE ON public.api_keys FOR EACH STATEMENT EXECUTE FUNCTION public.sluice_notify_all_lookups();

CREATE TRIGGER api_keys_notify_update AFTER UPDATE ON public.api_keys FOR EACH ROW WHEN ((((((old.id IS DISTINCT FROM new.id) OR (old.tenant_id IS DISTINCT FROM new.tenant_id)) OR (old.digest IS DISTINCT FROM new.digest)) OR (old.scopes IS DISTINCT FROM new.scopes)) OR (old.revoked_at IS DISTINCT FROM new.revoked_at))) EXECUTE FUNCTION public.sluice_notify_key_change();

CREATE TRIGGER model_aliases_notify AFTER INSERT OR DELETE OR UPDATE ON public.model_aliases FOR EACH ROW EXECUTE FUNCTION public.sluice_notify_model_ref_change();

CREATE TRIGGER model_aliases_notify_truncate AFTER TRUNCATE ON public.model_aliases FOR EACH STATEMENT EXECUTE FUNCTION public.sluice_notify_all_lookups();

CREATE TRIGGER model_versions_notify AFTER INSERT OR DELETE ON public.model_versions FOR EACH ROW EXECUTE FUNCTION public.sluice_notify_model_ref_change();

CREATE TRIGGER model_versions_notify_truncate AFTER TRUNCATE ON public.model_versions FOR EACH STATEMENT EXECUTE FUNCTION public.sluice_notify_all_lookups();

CREATE TRIGGER model_versions_notify_update AFTER UPDATE ON public.model_versions FOR EACH ROW WHEN ((((((old.id IS DISTINCT FROM new.id) OR (old.model_id IS DISTINCT FROM new.model_id)) OR (old.version IS DISTINCT FROM new.version)) OR (old.signature IS DISTINCT FROM new.signature)) OR (old.io IS DISTINCT FROM new.io))) EXECUTE FUNCTION public.sluice_notify_model_ref_change();

CREATE TRIGGER models_notify_delete AFTER DELETE ON public.models FOR EACH ROW EXECUTE FUNCTION public.sluice_notify_model_change();

CREATE TRIGGER models_notify_truncate AFTER TRUNCATE ON public.models FOR EACH STATEMENT EXECUTE FUNCTION public.sluice_notify_all_lookups();

CREATE TRIGGER models_notify_update AFTER UPDATE ON public.models FOR EACH ROW WHEN ((((old.id IS DISTINCT FROM new.id) OR (old.tenant_id IS DISTINCT FROM new.tenant_id)) OR (old.name IS DISTINCT FROM new.name))) EXECUTE FUNCTION public.sluice_notify_model_change();

CREATE TRIGGER tenants_notify_truncate AFTER TRUNCATE ON public.tenants FOR EACH STATEMENT EXECUTE FUNCTION public.sluice_notify_all_lookups();

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.dashboard_sessions
    ADD CONSTRAINT dashboard_sessions_key_id_fkey FOREIGN KEY (key_id) REFERENCES public.api_keys(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.dashboard_sessions
    ADD CONSTRAINT dashboard_sessions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.expired_jobs
    ADD CONSTRAINT expired_jobs_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.job_chunk_metrics
    ADD CONSTRAINT job_chunk_metrics_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.job_chunks
    ADD CONSTRAINT job_chunks_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.job_errors
    ADD CONSTRAINT job_errors_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_compare_model_version_id_fkey FOREIGN KEY (compare_model_version_id) REFERENCES public.model_versions(id);

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_model_version_id_fkey FOREIGN KEY (model_version_id) REFERENCES public.model_versions(id);

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_retry_of_fkey FOREIGN KEY (retry_of) REFERENCES public.jobs(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.model_alias_changes
    ADD CONSTRAINT model_alias_changes_model_id_fkey FOREIGN KEY (model_id) REFERENCES public.models(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.model_aliases
    ADD CONSTRAINT model_aliases_model_id_fkey FOREIGN KEY (model_id) REFERENCES public.models(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.model_aliases
    ADD CONSTRAINT model_aliases_version_id_fkey FOREIGN KEY (version_id) REFERENCES public.model_versions(id);

ALTER TABLE ONLY public.model_evaluations
    ADD CONSTRAINT model_evaluations_model_version_id_fkey FOREIGN KEY (model_version_id) REFERENCES public.model_versions(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.model_versions
    ADD CONSTRAINT model_versions_model_id_fkey FOREIGN KEY (model_id) REFERENCES public.models(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.models
    ADD CONSTRAINT models_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.retry_row_numbers
    ADD CONSTRAINT retry_row_numbers_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_attempts
    ADD CONSTRAINT webhook_attempts_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES public.webhook_deliveries(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_endpoint_id_fkey FOREIGN KEY (endpoint_id) REFERENCES public.webhook_endpoints(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_tenant_secrets
    ADD CONSTRAINT webhook_tenant_secrets_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;
