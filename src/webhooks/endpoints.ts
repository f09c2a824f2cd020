import type pg from 'pg';
import { generateSecret } from './sign.js';

// Endpoint and default-secret queries behind /v1/webhooks. Every one takes the tenant id: a row
// of another tenant is indistinguishable from a missing one.

export interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  previous_secret_expires_at: Date | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, url, events, description, previous_secret_expires_at, disabled_at, disabled_reason, created_at, updated_at`;

export function endpointView(e: EndpointRow, now = new Date()) {
  return {
    id: e.id,
    object: 'webhook_endpoint' as const,
    url: e.url,
    events: e.events,
    description: e.description,
    status: e.disabled_at ? ('disabled' as const) : ('enabled' as const),
    disabled_at: e.disabled_at?.toISOString() ?? null,
    disabled_reason: e.disabled_reason,
    previous_secret_expires_at: e.previous_secret_expires_at && e.previous_secret_expires_at > now ? e.previous_secret_expires_at.toISOString() : null,
    created_at: e.created_at.toISOString(),
    updated_at: e.updated_at.toISOString(),
  };
}

export async function createEndpoint(pool: pg.Pool, tenantId: string, e: { url: string; events: string[]; description?: string }) {
  const secret = generateSecret();
  const { rows } = await pool.query<EndpointRow>(
    `INSERT INTO webhook_endpoints (tenant_id, url, events, description, secret) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [tenantId, e.url, e.events, e.description ?? null, secret],
  );
  return { endpoint: rows[0], secret };
}

export async function listEndpoints(pool: pg.Pool, tenantId: string): Promise<EndpointRow[]> {
  const { rows } = await pool.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);
  return rows;
}

export async function getEndpoint(pool: pg.Pool, tenantId: string, id: string): Promise<EndpointRow | null> {
  const { rows } = await pool.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0] ?? null;
}

export async function updateEndpoint(
  pool: pg.Pool,
  tenantId: string,
  id: string,
  p: { url?: string; events?: string[]; description?: string | null; disabled?: boolean },
): Promise<EndpointRow | null> {
  const { rows } = await pool.query<EndpointRow>(
    `UPDATE webhook_endpoints SET
        url = coalesce($3, url),
        events = coalesce($4, events),
        description = CASE WHEN $5::boolean THEN $6 ELSE description END,
        disabled_at = CASE WHEN $7::boolean IS NULL THEN disabled_at WHEN $7 THEN coalesce(disabled_at, now()) ELSE NULL END,
        disabled_reason = CASE WHEN $7::boolean IS NULL THEN disabled_reason WHEN $7 THEN coalesce(disabled_reason, 'disabled by the tenant') ELSE NULL END,
        updated_at = now()
      WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [tenantId, id, p.url ?? null, p.events ?? null, p.description !== undefined, p.description ?? null, p.disabled ?? null],
  );
  return rows[0] ?? null;
}

export async function deleteEndpoint(pool: pg.Pool, tenantId: string, id: string): Promise<boolean> {
  const r = await pool.query(`DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return (r.rowCount ?? 0) > 0;
}

/** The old secret keeps signing, beside the new one, for `overlapSeconds`. */
export async function rotateEndpointSecret(pool: pg.Pool, tenantId: string, id: string, overlapSeconds: number) {
  const secret = generateSecret();
  const { rows } = await pool.query<EndpointRow>(
    `UPDATE webhook_endpoints SET previous_secret = secret, secret = $3,
            previous_secret_expires_at = now() + make_interval(secs => $4), updated_at = now()
      WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [tenantId, id, secret, overlapSeconds],
  );
  return rows[0] ? { endpoint: rows[0], secret } : null;
}

export interface TenantSecret {
  secret: string;
  previous_secret_expires_at: Date | null;
  created_at: Date;
  rotated_at: Date | null;
}

/** The tenant's default secret (for callback_url deliveries), created on first use. */
export async function getTenantSecret(pool: pg.Pool, tenantId: string): Promise<TenantSecret> {
  await pool.query(`INSERT INTO webhook_tenant_secrets (tenant_id, secret) VALUES ($1, $2) ON CONFLICT (tenant_id) DO NOTHING`, [tenantId, generateSecret()]);
  const { rows } = await pool.query<TenantSecret>(
    `SELECT secret, previous_secret_expires_at, created_at, rotated_at FROM webhook_tenant_secrets WHERE tenant_id = $1`,
    [tenantId],
  );
  return rows[0];
}

export async function rotateTenantSecret(pool: pg.Pool, tenantId: string, overlapSeconds: number): Promise<TenantSecret> {
  const { rows } = await pool.query<TenantSecret>(
    `INSERT INTO webhook_tenant_secrets AS s (tenant_id, secret) VALUES ($1, $2)
     ON CONFLICT (tenant_id) DO UPDATE SET previous_secret = s.secret, secret = EXCLUDED.secret,
        previous_secret_expires_at = now() + make_interval(secs => $3), rotated_at = now()
     RETURNING secret, previous_secret_expires_at, created_at, rotated_at`,
    [tenantId, generateSecret(), overlapSeconds],
  );
  return rows[0];
}
