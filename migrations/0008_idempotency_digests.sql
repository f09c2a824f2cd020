-- 0008: an idempotency key replays only the request it was first used with. A job keeps a digest
-- of the request's parameters (model reference as sent, options) and of its body (the upload's
-- bytes, or a prediction's records), so the same key sent with anything different is refused
-- (409 idempotency_key_reused) instead of silently answering with another request's job.
-- Expand only: both columns are nullable, and jobs stored before (or by an earlier release, which
-- does not write them) replay as they did, without the comparison.
ALTER TABLE jobs ADD COLUMN request_digest text, ADD COLUMN body_digest text;
