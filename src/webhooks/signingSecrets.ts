import type { StoredSecrets } from '../db/storedSecrets.js';
import type { SecretCipher } from './secretCipher.js';
import { activeSecrets } from './sign.js';

// The secrets that sign a delivery right now, in clear: decrypted here, by the delivery worker, just
// before signing, and held no longer than the attempt. A slot's plaintext wins when present: only a
// writer older than migration 0012's release puts one there, and it never updates the ciphertext
// beside it (see migrations/0012). The previous secret is decrypted only while its overlap lasts.
export function signingSecrets(cipher: SecretCipher, tenantId: string, s: StoredSecrets, now = new Date()): string[] {
  const open = (plain: string | null, enc: string | null) => plain ?? (enc === null ? null : cipher.decrypt(enc, tenantId));
  const secret = open(s.secret, s.secret_enc);
  if (secret === null) return [];
  const overlapping = s.previous_secret_expires_at !== null && s.previous_secret_expires_at > now;
  return activeSecrets({ secret, previous_secret: overlapping ? open(s.previous_secret, s.previous_secret_enc) : null, previous_secret_expires_at: s.previous_secret_expires_at }, now);
}
