-- 0007: results are stored one row per chunk instead of one row per data row. A table row and an
-- index entry per prediction were most of what Postgres did for a scored row (docs/benchmarks.md);
-- a chunk's results now go in as one value, in Sluice's own encoding (src/inference/result-rows.ts).
-- No foreign key to jobs: rows are only ever written by the transaction that finishes the chunk
-- (which holds the job) and deleted with the job.
CREATE TABLE prediction_chunks (
  job_id     uuid NOT NULL,
  first_row  bigint NOT NULL,   -- the chunk's first data row number (1-based, header excluded)
  row_count  integer NOT NULL,  -- rows first_row .. first_row + row_count - 1, each with one result
  rows       bytea,             -- each row's result, in order (result-rows.ts); NULL when `error` is every row's
  error      text,              -- the error of every row, for a chunk that was never scored (a stalled job)
  PRIMARY KEY (job_id, first_row),
  CHECK (row_count > 0 AND (rows IS NULL) <> (error IS NULL))
);
-- Written once, read a few times: compressing each value would cost the finishing transaction
-- more than the bytes it saves (the encoding has no slack to speak of).
ALTER TABLE prediction_chunks ALTER COLUMN rows SET STORAGE EXTERNAL;

-- Results stored before this migration are encoded in SQL exactly as result-rows.ts encodes a row
-- (flags byte; value float8; scores count and float4s, a NULL score as NaN; passthrough count and
-- length-prefixed cells, -1 for NULL; error length-prefixed; all big-endian), then packed a chunk
-- per row again where the job's chunk rows still say which rows a chunk held and all of them are
-- there; any other row becomes a chunk of its own.
CREATE TEMP TABLE encoded_predictions ON COMMIT DROP AS
SELECT p.job_id, p.row_no,
       set_byte('\x00'::bytea, 0,
                (p.value IS NOT NULL)::int | ((p.scores IS NOT NULL)::int << 1) | ((p.passthrough IS NOT NULL)::int << 2) | ((p.error IS NOT NULL)::int << 3))
    || coalesce(float8send(p.value), '')
    || CASE WHEN p.scores IS NULL THEN '' ELSE
         int4send(coalesce(cardinality(p.scores), 0))
         || coalesce((SELECT string_agg(float4send(coalesce(s, 'NaN'::real)), '' ORDER BY o) FROM unnest(p.scores) WITH ORDINALITY u(s, o)), '')
       END
    || CASE WHEN p.passthrough IS NULL THEN '' ELSE
         int4send(coalesce(cardinality(p.passthrough), 0))
         || coalesce((SELECT string_agg(CASE WHEN t IS NULL THEN int4send(-1) ELSE int4send(octet_length(convert_to(t, 'UTF8'))) || convert_to(t, 'UTF8') END, '' ORDER BY o)
                        FROM unnest(p.passthrough) WITH ORDINALITY u(t, o)), '')
       END
    || CASE WHEN p.error IS NULL THEN '' ELSE int4send(octet_length(convert_to(p.error, 'UTF8'))) || convert_to(p.error, 'UTF8') END AS encoded
  FROM predictions p;

CREATE INDEX ON encoded_predictions (job_id, row_no);

INSERT INTO prediction_chunks (job_id, first_row, row_count, rows)
SELECT c.job_id, c.first_row, c.row_count, a.rows
  FROM job_chunks c
 CROSS JOIN LATERAL (SELECT string_agg(e.encoded, '' ORDER BY e.row_no) AS rows, count(*) AS n
                       FROM encoded_predictions e
                      WHERE e.job_id = c.job_id AND e.row_no BETWEEN c.first_row AND c.first_row + c.row_count - 1) a
 WHERE a.n = c.row_count;

-- Every other row: the chunk that starts at or before it (one index probe) does not hold it.
INSERT INTO prediction_chunks (job_id, first_row, row_count, rows)
SELECT e.job_id, e.row_no, 1, e.encoded
  FROM encoded_predictions e
  LEFT JOIN LATERAL (SELECT pc.first_row, pc.row_count FROM prediction_chunks pc
                      WHERE pc.job_id = e.job_id AND pc.first_row <= e.row_no
                      ORDER BY pc.first_row DESC LIMIT 1) c ON true
 WHERE c.first_row IS NULL OR e.row_no >= c.first_row + c.row_count;

DROP TABLE predictions;
