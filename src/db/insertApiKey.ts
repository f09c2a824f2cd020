import type pg from 'pg';
import { KEY_COLUMNS, type KeyView } from './apiKeyRow.js';

/**
 * Stores a new key: only its sha256 digest and a short prefix (for listings), never the key.
 * The caller runs it in the transaction that also writes the audit row.
 */
export async function insertApiKey<S extends string>(
  db: pg.Pool | pg.ClientBase,
  k: { tenantId: string; prefix: string; digest: Buffer; scopes: readonly S[]; name: string | null },
): Promise<KeyView<S>> {
  const { rows } = await db.query<KeyView<S>>(
    `INSERT INTO api_keys (tenant_id, prefix, digest, scopes, name) VALUES ($1, $2, $3, $4, $5) RETURNING ${KEY_COLUMNS}`,
    [k.tenantId, k.prefix, k.digest, k.scopes, k.name],
  );
  return rows[0];
}
