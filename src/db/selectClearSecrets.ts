import type pg from 'pg';

// The re-encryption step (`npm run migrate -- --encrypt-secrets`, src/webhooks/encryptClearSecrets.ts)
// reads rows that still hold a secret in clear, a page at a time by key: rows written before
// migration 0012, or by the previous release during the upgrade.

export type SecretTable = 'webhook_endpoints' | 'webhook_tenant_secrets';

export interface ClearSecretRow {
  /** The row's key: the endpoint id, or the tenant id for the default secret. */
  key: string;
  tenant_id: string;
  secret: string | null;
  previous_secret: string | null;
}

const KEY: Record<SecretTable, string> = { webhook_endpoints: 'id', webhook_tenant_secrets: 'tenant_id' };

export async function selectClearSecrets(db: pg.Pool | pg.ClientBase, table: SecretTable, after: string | null, limit: number): Promise<ClearSecretRow[]> {
  const key = KEY[table];
  const { rows } = await db.query<ClearSecretRow>(
    `SELECT ${key} AS key, tenant_id, secret, previous_secret FROM ${table}
      WHERE (secret IS NOT NULL OR previous_secret IS NOT NULL) AND ($1::uuid IS NULL OR ${key} > $1)
      ORDER BY ${key} LIMIT $2`,
    [after, limit],
  );
  return rows;
}
