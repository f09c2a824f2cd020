import { createHash } from 'node:crypto';
import { HttpError } from '../errors.js';

// What an idempotency key promises: the same request, answered once. A request is its parameters
// (the model reference as sent, not what it resolved to, so an alias moved since still replays)
// and its body; each is kept as a sha256 digest on the job to compare a replay against.

export function requestDigest(kind: 'batch' | 'online', params: Record<string, string | null | undefined>): string {
  const canonical = Object.keys(params).sort().map((k) => [k, params[k] ?? null]);
  return createHash('sha256').update(JSON.stringify([kind, canonical])).digest('hex');
}

export function bodyDigest(): { update(b: Uint8Array): void; digest(): string } {
  const h = createHash('sha256');
  return { update: (b) => void h.update(b), digest: () => h.digest('hex') };
}

/** Reads a body to its end for its digest (a replayed upload is compared, then dropped), at most `maxBytes`. */
export async function digestOf(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<string | null> {
  const d = bodyDigest();
  let bytes = 0;
  for await (const b of body) {
    bytes += b.length;
    if (bytes > maxBytes) return null;
    d.update(b);
  }
  return d.digest();
}

/**
 * A replay under an idempotency key must be the request that made the job: the same parameters
 * and, where the job kept it, the same body. Otherwise the key was reused for something else.
 */
export function assertSameRequest(
  earlier: { id: string; request_digest: string | null; body_digest: string | null },
  key: string,
  now: { request: string; body?: string | null },
): void {
  const differs = (a: string | null, b: string | null | undefined) => a !== null && b !== undefined && a !== b;
  if (differs(earlier.request_digest, now.request) || differs(earlier.body_digest, now.body)) {
    throw new HttpError(
      'idempotency_key_reused',
      `The idempotency key "${key}" was first used for a different request (job ${earlier.id}): another model, other options or another body. Use a new key for a new request.`,
      { job_id: earlier.id },
    );
  }
}
