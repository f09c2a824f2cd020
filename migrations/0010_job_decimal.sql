-- 0010: the decimal mark of an upload's numbers. European spreadsheets export "3,5" with ";"
-- between cells; a job records which mark its rows use, for the worker that parses them.
-- Expand only: the default is the point every job used before, so an earlier release's jobs and
-- processes are unaffected (an earlier worker would read a decimal-comma job's "3,5" as a row
-- error, never as a wrong number).
ALTER TABLE jobs ADD COLUMN decimal text NOT NULL DEFAULT '.' CHECK (decimal IN ('.', ','));
