-- 0005: upload chunk payloads are written once, read once, then cleared. Compressing each ~750 kB
-- payload cost the api ~40 ms a chunk and capped intake (docs/benchmarks.md): store them uncompressed.
ALTER TABLE job_chunks ALTER COLUMN payload SET STORAGE EXTERNAL;
