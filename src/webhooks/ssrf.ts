import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { HttpError } from '../errors.js';
import { classifyAddress, isAllowed, type Verdict } from './addresses.js';

// A webhook URL is chosen by the tenant, so the sender must not become a way into our network.
// Two checks: at submission, the URL's shape and any literal address; at delivery, every address
// the host resolves to, then a connection to exactly the address that was checked (a second
// lookup, which DNS rebinding could answer differently, never happens).

const MAX_URL_LENGTH = 2048;

function refusal(v: Verdict, allowPrivate: boolean): string {
  const hint = v.class === 'private' && !allowPrivate ? ' (WEBHOOK_ALLOW_PRIVATE=true allows these in development)' : '';
  return `a ${v.label} address${hint}`;
}

/** Throws invalid_callback_url (422) unless the URL is an http(s) URL we are willing to call. */
export function assertCallbackUrlAllowed(url: string, opts: { allowPrivate: boolean }): void {
  const bad = (why: string) => new HttpError('invalid_callback_url', `The callback URL ${why}.`);
  if (url.length > MAX_URL_LENGTH) throw bad(`is longer than ${MAX_URL_LENGTH} characters`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('is not an absolute URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad(`must use http or https, not ${u.protocol.slice(0, -1)}`);
  if (u.username || u.password) throw bad('must not contain credentials; authenticate the request with its signature instead');
  if (!u.hostname) throw bad('has no host');
  const v = classifyAddress(u.hostname);
  if (v && !isAllowed(v, opts.allowPrivate)) throw bad(`points at ${refusal(v, opts.allowPrivate)}, which webhooks may not reach`);
}

/** The host resolved to an address we refuse: final, retrying would not change our mind. */
export class AddressRefusedError extends Error {
  override name = 'AddressRefusedError';
}

/** The host did not resolve: retried, it may be a transient DNS failure. */
export class DnsError extends Error {
  override name = 'DnsError';
}

export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

export type Resolver = (host: string) => Promise<CheckedAddress[]>;

const systemResolver: Resolver = async (host) => {
  const all = await dnsLookup(host, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Resolves the host and checks every address it returned; refuses all if any one is refused. */
export async function resolveChecked(hostname: string, opts: { allowPrivate: boolean; resolve?: Resolver }): Promise<CheckedAddress> {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  const literal = classifyAddress(host);
  let addresses: CheckedAddress[];
  if (literal) {
    addresses = [{ address: host, family: host.includes(':') ? 6 : 4 }];
  } else {
    try {
      addresses = await (opts.resolve ?? systemResolver)(host);
    } catch (err) {
      throw new DnsError(`could not resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (addresses.length === 0) throw new DnsError(`${host} resolved to no address`);
  }
  for (const a of addresses) {
    const v = classifyAddress(a.address);
    if (!v || !isAllowed(v, opts.allowPrivate)) {
      throw new AddressRefusedError(`${host} resolves to ${a.address}, ${v ? refusal(v, opts.allowPrivate) : 'not an IP address'}; refused`);
    }
  }
  return addresses[0];
}

/** A `lookup` for http.request that answers with the address already checked, whatever is asked. */
export function pinnedLookup(checked: CheckedAddress): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: checked.address, family: checked.family }]);
    else callback(null, checked.address, checked.family);
  }) as unknown as LookupFunction;
}
