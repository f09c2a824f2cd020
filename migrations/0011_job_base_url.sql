-- 0011: the base of a job's links when PUBLIC_URL is not set. A webhook is sent by a worker, which
-- knows no host of its own; the job keeps the scheme and host of the request that created it, so
-- the links in its payloads are absolute and can be followed. Expand only: null for earlier jobs
-- and for an earlier release's writes, whose links stay relative as before.
ALTER TABLE jobs ADD COLUMN base_url text;
