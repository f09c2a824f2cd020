import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';

// Webhook signing secrets are HMAC keys: Sluice needs them back in clear to sign, so they are
// encrypted (not hashed) at rest, with AES-256-GCM under SECRETS_KEY. A stored value reads
// `v1:<iv>:<tag>:<ciphertext>` (base64url parts): the version names the key and the scheme, so a
// later release can add `v2` under a new key and re-encrypt while still reading `v1`. The tenant id
// is bound in as additional authenticated data: a ciphertext copied onto another tenant's row does
// not decrypt. Secrets are decrypted only by the delivery worker, right before signing.

const VERSION = 'v1';
const IV_BYTES = 12; // GCM's standard nonce; random per encryption
const aad = (tenantId: string) => Buffer.from(`sluice:webhook-secret:${tenantId}`);

/** A stored value that does not decrypt under this key: another key, another tenant's row, or altered. */
export class SecretDecryptError extends Error {
  constructor(why: string) {
    super(`cannot decrypt a stored webhook secret: ${why}`);
    this.name = 'SecretDecryptError';
  }
}

export class SecretCipher {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new RangeError('SECRETS_KEY must be 32 bytes');
    this.#key = key;
  }

  static fromConfig(config: Pick<Config, 'secrets'>): SecretCipher {
    return new SecretCipher(Buffer.from(config.secrets.key, 'base64'));
  }

  encrypt(secret: string, tenantId: string): string {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.#key, iv).setAAD(aad(tenantId));
    const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    return [VERSION, iv, c.getAuthTag(), ct].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join(':');
  }

  decrypt(stored: string, tenantId: string): string {
    const [version, iv, tag, ct, ...rest] = stored.split(':');
    if (version !== VERSION || ct === undefined || rest.length) throw new SecretDecryptError(`unknown format ${JSON.stringify(version)}`);
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url')).setAAD(aad(tenantId));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
    } catch {
      throw new SecretDecryptError('wrong SECRETS_KEY, or the value was altered or moved to another tenant');
    }
  }
}

/**
 * What the API shows instead of a secret: the first 16 hex digits of the SHA-256 of the secret as
 * it was given out (`whsec_…`), so a tenant can tell which secret it holds
 * (`printf %s "$SECRET" | sha256sum | cut -c1-16`) without Sluice ever showing it again.
 */
export function secretFingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}
