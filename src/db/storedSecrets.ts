// How webhook signing secrets are stored (migrations/0012): a secret this release writes is sealed
// (AES-256-GCM ciphertext, never the clear value) with the fingerprint the API shows in its place;
// rows written before 0012, or by the previous release during an upgrade, still hold plaintext
// until `npm run migrate -- --encrypt-secrets`. Each slot (current, previous) holds one or the other.

/** A secret as this release writes it: the caller (src/webhooks) encrypts; src/db never sees it in clear. */
export interface SealedSecret {
  enc: string;
  fingerprint: string;
}

/** What signs a delivery: per slot the plaintext when present (an older writer's, so the newer value), else the ciphertext. */
export interface StoredSecrets {
  secret: string | null;
  secret_enc: string | null;
  previous_secret: string | null;
  previous_secret_enc: string | null;
  previous_secret_expires_at: Date | null;
}
