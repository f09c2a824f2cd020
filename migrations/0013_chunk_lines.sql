-- 0013: where a chunk's rows stand in the uploaded file, so a row error names its line as well as
-- its row number (they differ after quoted newlines and blank lines). first_line is the line of
-- the chunk's first record; line_jumps, only where rows and lines drift apart, holds flat
-- [row index, extra lines from there on] pairs (src/csv/records.ts lineOf).
-- Expand only: both nullable; chunks stored before, or by an earlier release, have none and their
-- errors name the row alone; an earlier worker ignores the columns.
ALTER TABLE job_chunks ADD COLUMN first_line integer, ADD COLUMN line_jumps integer[];
