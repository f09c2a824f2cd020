import type pg from 'pg';
import type { SecretTable } from './selectClearSecrets.js';

// Replaces one row's plaintext secrets by the ciphertexts the caller made from them, only if the row
// still holds exactly the plaintext that was read (a concurrent rotation wins; the next run sees the
// row again). A slot already in clear gets its ciphertext and its plaintext nulled; a slot that held
// none is left as it is. The fingerprint is of the current secret's plaintext, when it had one.

const KEY: Record<SecretTable, string> = { webhook_endpoints: 'id', webhook_tenant_secrets: 'tenant_id' };

export async function sealClearSecret(
  db: pg.Pool | pg.ClientBase,
  table: SecretTable,
  row: { key: string; secret: string | null; previous_secret: string | null },
  sealed: { secretEnc: string | null; previousSecretEnc: string | null; fingerprint: string | null },
): Promise<boolean> {
  const key = KEY[table];
  const r = await db.query(
    `UPDATE ${table} SET
        secret_enc = CASE WHEN secret IS NULL THEN secret_enc ELSE $4 END,
        secret_fingerprint = CASE WHEN secret IS NULL THEN secret_fingerprint ELSE $6 END,
        secret = NULL,
        previous_secret_enc = CASE WHEN previous_secret IS NULL THEN previous_secret_enc ELSE $5 END,
        previous_secret = NULL
      WHERE ${key} = $1 AND secret IS NOT DISTINCT FROM $2 AND previous_secret IS NOT DISTINCT FROM $3`,
    [row.key, row.secret, row.previous_secret, sealed.secretEnc, sealed.previousSecretEnc, sealed.fingerprint],
  );
  return (r.rowCount ?? 0) > 0;
}
