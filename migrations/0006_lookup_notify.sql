-- 0006: the api caches, per process, what it used to read on every request: a key by its digest
-- and a model reference resolved for a tenant (src/http/lookups.ts). These triggers tell every api
-- process when a cached answer may have changed, on channel `sluice_lookups`. NOTIFY is
-- transactional: it is delivered when (and only if) the change commits, from the source of truth,
-- whoever made the change (api, CLI, psql). Payloads:
--   key:<api_keys.id>    a key was revoked, re-scoped, re-tenanted or deleted
--   models:<tenant_id>   a reference of that tenant may resolve differently (version added or
--                        removed, alias set, moved or removed, model renamed or deleted)
--   all                  a table was truncated: forget everything
-- Last-use flushes (UPDATE of last_used_at every few seconds) deliberately do not notify: they
-- change nothing a cache holds, and a NOTIFY takes a commit-time lock shared by all notifiers.

CREATE FUNCTION sluice_notify_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sluice_lookups', 'key:' || OLD.id);
  RETURN NULL;
END $$;

CREATE TRIGGER api_keys_notify_update AFTER UPDATE ON api_keys FOR EACH ROW
  WHEN ((OLD.id, OLD.tenant_id, OLD.digest, OLD.scopes, OLD.revoked_at) IS DISTINCT FROM (NEW.id, NEW.tenant_id, NEW.digest, NEW.scopes, NEW.revoked_at))
  EXECUTE FUNCTION sluice_notify_key_change();
CREATE TRIGGER api_keys_notify_delete AFTER DELETE ON api_keys FOR EACH ROW
  EXECUTE FUNCTION sluice_notify_key_change();

-- model_versions and model_aliases both name their model; the tenant is the model's. When the
-- model row is already gone (a cascade from deleting the model or its tenant) nothing is sent
-- here: the models trigger below has announced that tenant.
CREATE FUNCTION sluice_notify_model_ref_change() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER model_versions_notify AFTER INSERT OR DELETE ON model_versions FOR EACH ROW
  EXECUTE FUNCTION sluice_notify_model_ref_change();
CREATE TRIGGER model_versions_notify_update AFTER UPDATE ON model_versions FOR EACH ROW
  WHEN ((OLD.id, OLD.model_id, OLD.version, OLD.signature, OLD.io) IS DISTINCT FROM (NEW.id, NEW.model_id, NEW.version, NEW.signature, NEW.io))
  EXECUTE FUNCTION sluice_notify_model_ref_change();
CREATE TRIGGER model_aliases_notify AFTER INSERT OR UPDATE OR DELETE ON model_aliases FOR EACH ROW
  EXECUTE FUNCTION sluice_notify_model_ref_change();

CREATE FUNCTION sluice_notify_model_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sluice_lookups', 'models:' || OLD.tenant_id);
  IF TG_OP = 'UPDATE' AND NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
    PERFORM pg_notify('sluice_lookups', 'models:' || NEW.tenant_id);
  END IF;
  RETURN NULL;
END $$;

-- Registration upserts the model row (SET name = EXCLUDED.name, no change): the WHEN skips it.
CREATE TRIGGER models_notify_update AFTER UPDATE ON models FOR EACH ROW
  WHEN ((OLD.id, OLD.tenant_id, OLD.name) IS DISTINCT FROM (NEW.id, NEW.tenant_id, NEW.name))
  EXECUTE FUNCTION sluice_notify_model_change();
CREATE TRIGGER models_notify_delete AFTER DELETE ON models FOR EACH ROW
  EXECUTE FUNCTION sluice_notify_model_change();

-- TRUNCATE fires no row triggers.
CREATE FUNCTION sluice_notify_all_lookups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sluice_lookups', 'all');
  RETURN NULL;
END $$;

CREATE TRIGGER api_keys_notify_truncate AFTER TRUNCATE ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION sluice_notify_all_lookups();
CREATE TRIGGER models_notify_truncate AFTER TRUNCATE ON models FOR EACH STATEMENT EXECUTE FUNCTION sluice_notify_all_lookups();
CREATE TRIGGER model_versions_notify_truncate AFTER TRUNCATE ON model_versions FOR EACH STATEMENT EXECUTE FUNCTION sluice_notify_all_lookups();
CREATE TRIGGER model_aliases_notify_truncate AFTER TRUNCATE ON model_aliases FOR EACH STATEMENT EXECUTE FUNCTION sluice_notify_all_lookups();
CREATE TRIGGER tenants_notify_truncate AFTER TRUNCATE ON tenants FOR EACH STATEMENT EXECUTE FUNCTION sluice_notify_all_lookups();
