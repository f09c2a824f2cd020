// A webhook_endpoints row as the endpoint queries return it: never its secrets (encrypted at rest,
// see storedSecrets.ts), which leave the database only to sign (claimDelivery); the fingerprint stands in.

export interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  /** secretFingerprint of the current secret (null only for a previous release's row not yet re-encrypted). */
  secret_fingerprint: string | null;
  previous_secret_expires_at: Date | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export const ENDPOINT_COLUMNS = `id, url, events, description, secret_fingerprint, previous_secret_expires_at, disabled_at, disabled_reason, created_at, updated_at`;
