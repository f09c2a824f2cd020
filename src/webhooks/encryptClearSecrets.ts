import type pg from 'pg';
import { sealClearSecret } from '../db/sealClearSecret.js';
import { selectClearSecrets, type SecretTable } from '../db/selectClearSecrets.js';
import { secretFingerprint, type SecretCipher } from './secretCipher.js';

// The second half of migration 0012: the webhook secrets still stored in clear (written before it,
// or by the previous release during the upgrade) are encrypted by the application, which holds
// SECRETS_KEY, and their plaintext is nulled. Run by `npm run migrate -- --encrypt-secrets` only once
// every api and worker runs a release that reads ciphertext: a previous release reads plaintext only.
// Idempotent, in batches of short statements (no long transaction, no table lock); a row rotated
// meanwhile is left for the next run.

const TABLES: SecretTable[] = ['webhook_endpoints', 'webhook_tenant_secrets'];

export interface EncryptReport {
  encrypted: number;
  /** Rows changed between read and write (a concurrent rotation): run again to finish them. */
  skipped: number;
}

export async function encryptClearSecrets(pool: pg.Pool, cipher: SecretCipher, batch = 500): Promise<EncryptReport> {
  const report: EncryptReport = { encrypted: 0, skipped: 0 };
  for (const table of TABLES) {
    let after: string | null = null;
    for (;;) {
      const rows = await selectClearSecrets(pool, table, after, batch);
      for (const row of rows) {
        const sealed = {
          secretEnc: row.secret === null ? null : cipher.encrypt(row.secret, row.tenant_id),
          previousSecretEnc: row.previous_secret === null ? null : cipher.encrypt(row.previous_secret, row.tenant_id),
          fingerprint: row.secret === null ? null : secretFingerprint(row.secret),
        };
        if (await sealClearSecret(pool, table, row, sealed)) report.encrypted++;
        else report.skipped++;
      }
      if (rows.length < batch) break;
      after = rows[rows.length - 1].key;
    }
  }
  return report;
}
