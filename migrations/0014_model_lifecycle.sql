-- 0014: the model lifecycle (issue 14): evaluation jobs, compare jobs, retries of failed rows and
-- how an alias chose the version a job runs. Expand only: every column is nullable or defaulted,
-- so a release before this one keeps inserting and reading jobs as it did (it ignores them).
ALTER TABLE jobs
  -- An evaluation job: the column holding each row's true label (left out of the model's inputs).
  ADD COLUMN label_column text,
  -- A compare job: every row is also scored by this version, in the same pass.
  ADD COLUMN compare_model_version_id bigint REFERENCES model_versions(id),
  -- ?record=true: the job's evaluation is also stored on the model version when it completes.
  ADD COLUMN record_evaluation boolean NOT NULL DEFAULT false,
  -- Merged from the chunks' partial figures (job_chunk_metrics) by the commit that ends the job.
  ADD COLUMN evaluation jsonb,
  ADD COLUMN compare_evaluation jsonb,
  ADD COLUMN agreement jsonb,
  -- A retry of another job's failed rows. No cascade: retention deletes each job on its own.
  ADD COLUMN retry_of uuid REFERENCES jobs(id) ON DELETE SET NULL,
  -- How the model reference chose the version (an alias split between versions): shown with the job.
  ADD COLUMN routing jsonb;
CREATE INDEX jobs_retry_of ON jobs (retry_of) WHERE retry_of IS NOT NULL;

-- Which dataset an evaluation is about: the upload's sha256, kept in jobs.body_digest (0008),
-- which intake now also fills for evaluation jobs.

-- A chunk's partial evaluation / agreement figures, written by the transaction that stores its
-- results (so exactly once per chunk), merged when the job ends. Small: counts and sums.
CREATE TABLE job_chunk_metrics (
  job_id   uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq      integer NOT NULL,
  metrics  jsonb NOT NULL,
  PRIMARY KEY (job_id, seq)
);

-- Evaluations recorded on a model version (?record=true): the model card lists them.
-- job_id has no foreign key: the evaluation outlives the job, which retention deletes.
CREATE TABLE model_evaluations (
  id               bigserial PRIMARY KEY,
  model_version_id bigint NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
  job_id           uuid NOT NULL,
  dataset_digest   text,
  label_column     text NOT NULL,
  rows             bigint NOT NULL,
  metrics          jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id, model_version_id)
);
CREATE INDEX model_evaluations_version ON model_evaluations (model_version_id, created_at DESC);
