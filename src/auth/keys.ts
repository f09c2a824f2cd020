import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// Keys look like GitHub's and Stripe's: a type prefix, 256 random bits, and a CRC32 checksum,
// so a typo is caught before any lookup and a leaked key is recognisable by secret scanners.
export const KEY_PREFIX = 'sluice_sk_';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export const SCOPES = ['jobs:write', 'jobs:read', 'models:write', 'models:read', 'webhooks:write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** The caller an API key authenticates as. */
export interface Auth {
  tenantId: string;
  keyId: string;
  scopes: Scope[];
}

function base62(bytes: Buffer, width: number): string {
  let n = BigInt('0x' + (bytes.toString('hex') || '0'));
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(width, '0');
}

const CRC_TABLE = Array.from({ length: 256 }, (_, i) => {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(s: string): number {
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) c = CRC_TABLE[(c ^ s.charCodeAt(i)) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
const checksum = (body: string) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(body));
  return base62(b, 6);
};

export function generateKey(): { key: string; prefix: string; digest: Buffer } {
  const body = KEY_PREFIX + base62(randomBytes(32), 43);
  const key = body + checksum(body);
  return { key, prefix: key.slice(0, KEY_PREFIX.length + 6), digest: digestKey(key) };
}

export function digestKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** Shape and checksum only: no database needed to reject a mistyped key. */
export function isWellFormedKey(key: string): boolean {
  if (!key.startsWith(KEY_PREFIX) || key.length !== KEY_PREFIX.length + 43 + 6) return false;
  // A key is ASCII; anything else cannot be one (and its UTF-8 bytes would not line up for the
  // byte comparison below, which throws on unequal lengths).
  if (!/^[\x21-\x7e]+$/.test(key)) return false;
  const body = key.slice(0, -6);
  const a = Buffer.from(checksum(body));
  const b = Buffer.from(key.slice(-6));
  return timingSafeEqual(a, b);
}
