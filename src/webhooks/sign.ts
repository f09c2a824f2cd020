import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

// Standard Webhooks signing (https://www.standardwebhooks.com), by the specification's own
// reference library: "v1,<base64 HMAC-SHA256 of id.timestamp.body>". Several signatures are
// space-separated: during a rotation both secrets sign, so a receiver holding either one verifies.
export const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32; // the specification asks for at least 24

export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

export function sign(secret: string, msgId: string, timestampSec: number, body: string): string {
  if (Buffer.from(secret.replace(SECRET_PREFIX, ''), 'base64').length < 24) throw new Error('webhook secret is shorter than 24 bytes');
  return new Webhook(secret).sign(msgId, new Date(timestampSec * 1000), body);
}

/** The three Standard Webhooks headers for one attempt; the timestamp is the attempt's own. */
export function signatureHeaders(secrets: readonly string[], msgId: string, body: string, now = new Date()): Record<string, string> {
  if (secrets.length === 0) throw new Error('a delivery needs at least one secret to sign with');
  const ts = Math.floor(now.getTime() / 1000);
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(ts),
    'webhook-signature': secrets.map((s) => sign(s, msgId, ts, body)).join(' '),
  };
}

/** Secrets that sign right now: the current one, and the previous one while its overlap lasts. */
export function activeSecrets(s: { secret: string; previous_secret: string | null; previous_secret_expires_at: Date | null }, now = new Date()): string[] {
  const prev = s.previous_secret && s.previous_secret_expires_at && s.previous_secret_expires_at > now ? [s.previous_secret] : [];
  return [s.secret, ...prev];
}
