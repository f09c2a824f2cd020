import type pg from 'pg';

// How many webhook secrets are still stored in clear (rows from before migration 0012 or from the
// previous release): the delivery worker warns at start until `npm run migrate -- --encrypt-secrets` has run.
export async function countClearSecrets(db: pg.Pool | pg.ClientBase): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM webhook_endpoints WHERE secret IS NOT NULL OR previous_secret IS NOT NULL)
           + (SELECT count(*) FROM webhook_tenant_secrets WHERE secret IS NOT NULL OR previous_secret IS NOT NULL))::int AS n`,
  );
  return rows[0].n;
}
