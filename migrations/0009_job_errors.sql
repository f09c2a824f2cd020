-- 0009: a job says why its rows failed without anyone downloading them. job_errors holds, per job
-- and kind of error, how many rows got it and the first row numbers (at most 5) that did; each
-- chunk's commit adds its own counts in the same transaction as its results (so the summary is
-- exact whatever order chunks finish in). max_error_rate lets a submission fail fast when too many
-- rows fail. Expand only: a release that does not know them writes no summary and never fails a
-- job by rate; nothing it reads changes.
CREATE TABLE job_errors (
  job_id      uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  code        text NOT NULL,
  message     text NOT NULL,
  count       bigint NOT NULL,
  first_rows  bigint[] NOT NULL,
  PRIMARY KEY (job_id, code, message)
);

ALTER TABLE jobs ADD COLUMN max_error_rate real CHECK (max_error_rate >= 0 AND max_error_rate <= 1);
