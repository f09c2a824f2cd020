import type pg from 'pg';
import type { z } from 'zod';
import type { Webhook } from '../http/schemas.js';
import type { JobEventType } from './eventTypes.js';
import type { EndpointRow } from '../db/endpointRow.js';
import { ensureTenantSecret } from '../db/ensureTenantSecret.js';
import { insertEndpoint } from '../db/insertEndpoint.js';
import { replaceEndpointSecret } from '../db/replaceEndpointSecret.js';
import { replaceTenantSecret } from '../db/replaceTenantSecret.js';
import { selectTenantSecret, type TenantSecret } from '../db/selectTenantSecret.js';
import type { SealedSecret } from '../db/storedSecrets.js';
import { secretFingerprint, type SecretCipher } from './secretCipher.js';
import { generateSecret } from './sign.js';

// Endpoints and the default secret behind /v1/webhooks: what the tenant sees of an endpoint, and
// the secrets, made and encrypted here and stored by src/db. A secret is returned only by the call
// that made it; afterwards only its fingerprint is shown. Every query takes the tenant id: a row of
// another tenant is indistinguishable from a missing one.

/** Typed by the Webhook schema that /openapi.json documents (src/http/schemas.ts). */
export function endpointView(e: EndpointRow, now = new Date()): z.output<typeof Webhook> {
  return {
    id: e.id,
    object: 'webhook_endpoint' as const,
    url: e.url,
    events: e.events as JobEventType[], // checked against JOB_EVENT_TYPES when written
    description: e.description,
    status: e.disabled_at ? ('disabled' as const) : ('enabled' as const),
    disabled_at: e.disabled_at?.toISOString() ?? null,
    disabled_reason: e.disabled_reason,
    secret_fingerprint: e.secret_fingerprint,
    previous_secret_expires_at: e.previous_secret_expires_at && e.previous_secret_expires_at > now ? e.previous_secret_expires_at.toISOString() : null,
    created_at: e.created_at.toISOString(),
    updated_at: e.updated_at.toISOString(),
  };
}

/** A new secret for `tenantId`: in clear for the caller to show once, sealed for Postgres. */
export function newSecret(cipher: SecretCipher, tenantId: string): { secret: string; sealed: SealedSecret } {
  const secret = generateSecret();
  return { secret, sealed: { enc: cipher.encrypt(secret, tenantId), fingerprint: secretFingerprint(secret) } };
}

/** A new endpoint with a signing secret of its own, returned this once. */
export async function createEndpoint(pool: pg.Pool, cipher: SecretCipher, tenantId: string, e: { url: string; events: string[]; description?: string }) {
  const { secret, sealed } = newSecret(cipher, tenantId);
  return { endpoint: await insertEndpoint(pool, tenantId, e, sealed), secret };
}

/** The old secret keeps signing, beside the new one, for `overlapSeconds`. The new one is returned this once. */
export async function rotateEndpointSecret(pool: pg.Pool, cipher: SecretCipher, tenantId: string, id: string, overlapSeconds: number) {
  const { secret, sealed } = newSecret(cipher, tenantId);
  const endpoint = await replaceEndpointSecret(pool, tenantId, id, sealed, overlapSeconds);
  return endpoint ? { endpoint, secret } : null;
}

/**
 * The tenant's default secret (for callback_url deliveries), created on first use. `secret` is set
 * only when this call created it; otherwise the secret was shown when it was made (or, made by the
 * delivery worker for a callback, never) and only a rotation gives out a new one.
 */
export async function getTenantSecret(pool: pg.Pool, cipher: SecretCipher, tenantId: string): Promise<TenantSecret & { secret?: string }> {
  const { secret, sealed } = newSecret(cipher, tenantId);
  const created = await ensureTenantSecret(pool, tenantId, sealed);
  const info = await selectTenantSecret(pool, tenantId);
  return created ? { ...info, secret } : info;
}

/** The new default secret, returned this once; the old one keeps signing beside it for `overlapSeconds`. */
export async function rotateTenantSecret(pool: pg.Pool, cipher: SecretCipher, tenantId: string, overlapSeconds: number): Promise<TenantSecret & { secret: string }> {
  const { secret, sealed } = newSecret(cipher, tenantId);
  return { ...(await replaceTenantSecret(pool, tenantId, sealed, overlapSeconds)), secret };
}
