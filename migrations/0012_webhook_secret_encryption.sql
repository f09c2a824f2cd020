-- 0012: webhook signing secrets encrypted at rest (issue 12 §9). Until now endpoint secrets and the
-- tenant default secret were stored in clear, so a database dump or a read-only SQL leak gave away
-- every tenant's means to forge Sluice's webhooks. From this release the application writes them
-- only into the *_enc columns, AES-256-GCM under SECRETS_KEY (`v1:<iv>:<tag>:<ct>`,
-- src/webhooks/secretCipher.ts), and a fingerprint that the API shows instead of the secret.
--
-- Expand only, so it is safe while the previous release runs: new columns are nullable, and the
-- plaintext columns lose NOT NULL but keep every value. The previous release still reads and writes
-- plaintext; this release reads a slot's plaintext when present, else its ciphertext, so rows the
-- previous release writes during a rolling upgrade still sign. (A secret this release creates has
-- no plaintext: a previous-release worker cannot sign with it and leaves the delivery pending; a
-- worker of this release sends it once the claim's lease ends. Nothing is lost.)
--
-- Upgrade order (docs/webhooks.md, "Upgrading to encrypted secrets"):
--   1. `npm run migrate` (this file);
--   2. deploy this release's api and workers, all of them, with the same SECRETS_KEY;
--   3. then, and only then, `npm run migrate -- --encrypt-secrets`: the application encrypts the
--      plaintext left in these tables, in batches, and nulls it (idempotent; run it again at will).
-- Step 3 before step 2 finishes would leave a previous-release worker nothing it can sign with.
-- A later release drops the plaintext columns (contract) once step 3 has run everywhere.

ALTER TABLE webhook_endpoints
  ALTER COLUMN secret DROP NOT NULL,
  ADD COLUMN secret_enc text,
  ADD COLUMN previous_secret_enc text,
  ADD COLUMN secret_fingerprint text,
  ADD CONSTRAINT webhook_endpoints_has_secret CHECK (secret IS NOT NULL OR secret_enc IS NOT NULL);

ALTER TABLE webhook_tenant_secrets
  ALTER COLUMN secret DROP NOT NULL,
  ADD COLUMN secret_enc text,
  ADD COLUMN previous_secret_enc text,
  ADD COLUMN secret_fingerprint text,
  ADD CONSTRAINT webhook_tenant_secrets_has_secret CHECK (secret IS NOT NULL OR secret_enc IS NOT NULL);

-- Fingerprints of the secrets already stored (the same digest secretFingerprint computes), so the
-- API can show one at once; step 3 fills those of rows the previous release writes meanwhile.
UPDATE webhook_endpoints SET secret_fingerprint = left(encode(sha256(convert_to(secret, 'UTF8')), 'hex'), 16);
UPDATE webhook_tenant_secrets SET secret_fingerprint = left(encode(sha256(convert_to(secret, 'UTF8')), 'hex'), 16);
