-- 0016: which row of the original each row of a retry job is (POST /v1/jobs/{id}/retry, issue 14).
-- A retry holds only the failed rows of the job it retries, numbered 1..n like every job's rows
-- (chunks, counters and stored results all rest on that); its results show the ORIGINAL row
-- numbers, read from here (src/results/readResultChunks.ts). One row per chunk of the retry, not
-- per data row: 8 bytes a retried row, written by the statement that stores the chunk
-- (src/db/insertRetryChunk.ts), so a chunk never exists without its numbers. Ordinary jobs have
-- no row here. Expand only: a new table.
CREATE TABLE retry_row_numbers (
  job_id       uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  -- The retry chunk's first row (its job_chunks.first_row); the chunk's rows are first_row, first_row + 1, …
  first_row    bigint NOT NULL,
  -- The original row number of each of them, ascending (a retry keeps the original's order).
  source_rows  bigint[] NOT NULL,
  -- source_rows[1]: finds the chunk of a page cursor given in original row numbers without reading the arrays.
  first_source bigint NOT NULL,
  PRIMARY KEY (job_id, first_row),
  CHECK (cardinality(source_rows) > 0 AND first_source = source_rows[1])
);
CREATE INDEX retry_row_numbers_source ON retry_row_numbers (job_id, first_source);
