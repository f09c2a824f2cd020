import type pg from 'pg';
import type { EndpointRow } from '../db/endpointRow.js';
import { ensureTenantSecret } from '../db/ensureTenantSecret.js';
import { insertEndpoint } from '../db/insertEndpoint.js';
import { replaceEndpointSecret } from '../db/replaceEndpointSecret.js';
import { replaceTenantSecret } from '../db/replaceTenantSecret.js';
import { selectTenantSecret, type TenantSecret } from '../db/selectTenantSecret.js';
import { generateSecret } from './sign.js';

// Endpoints and the default secret behind /v1/webhooks: what the tenant sees of an endpoint, and
// the secrets, made here and stored by src/db. Every query takes the tenant id: a row of another
// tenant is indistinguishable from a missing one.

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

/** A new endpoint with a signing secret of its own, returned this once. */
export async function createEndpoint(pool: pg.Pool, tenantId: string, e: { url: string; events: string[]; description?: string }) {
  const secret = generateSecret();
  return { endpoint: await insertEndpoint(pool, tenantId, e, secret), secret };
}

/** The old secret keeps signing, beside the new one, for `overlapSeconds`. */
export async function rotateEndpointSecret(pool: pg.Pool, tenantId: string, id: string, overlapSeconds: number) {
  const secret = generateSecret();
  const endpoint = await replaceEndpointSecret(pool, tenantId, id, secret, overlapSeconds);
  return endpoint ? { endpoint, secret } : null;
}

/** The tenant's default secret (for callback_url deliveries), created on first use. */
export async function getTenantSecret(pool: pg.Pool, tenantId: string): Promise<TenantSecret> {
  await ensureTenantSecret(pool, tenantId, generateSecret());
  return selectTenantSecret(pool, tenantId);
}

export async function rotateTenantSecret(pool: pg.Pool, tenantId: string, overlapSeconds: number): Promise<TenantSecret> {
  return replaceTenantSecret(pool, tenantId, generateSecret(), overlapSeconds);
}
