-- 0003: reliability. Retention deletes finished jobs after a TTL, in small batches; it finds them
-- by finish time (an index, so each pass is cheap), and leaves a tombstone per deleted job so its
-- id answers 410 `job_expired` rather than a puzzling 404. The watchdog finds unfinished jobs that
-- stopped progressing through an index on progressed_at.

CREATE INDEX jobs_finished_at ON jobs (finished_at) WHERE status IN ('completed', 'failed', 'cancelled');
CREATE INDEX jobs_unfinished_progress ON jobs (progressed_at) WHERE status IN ('receiving', 'queued', 'running');

CREATE TABLE expired_jobs (
  id           uuid PRIMARY KEY,                 -- the deleted job's id
  tenant_id    uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  status       text NOT NULL,                    -- how the job had ended
  finished_at  timestamptz,
  expired_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX expired_jobs_expired_at ON expired_jobs (expired_at);
