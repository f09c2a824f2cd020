import { isIPv4, isIPv6 } from 'node:net';

// Where a webhook may connect, as data. 'private' ranges are reachable with WEBHOOK_ALLOW_PRIVATE
// (development, tests); 'forbidden' ones never are: cloud metadata services, link-local,
// multicast, reserved and documentation space. Addresses that embed an IPv4 address (mapped,
// NAT64, 6to4, IPv4-compatible) are judged by the address they embed, since that is where the
// packets go. First match wins, so the narrow metadata entries sit above their wider ranges.
export type AddressClass = 'public' | 'private' | 'forbidden';
export interface Verdict {
  class: AddressClass;
  label: string;
}

type Range4 = [cidr: string, cls: Exclude<AddressClass, 'public'>, label: string];
const V4: Range4[] = [
  ['169.254.169.254/32', 'forbidden', 'cloud metadata'],
  ['169.254.170.2/32', 'forbidden', 'cloud metadata'],
  ['100.100.100.200/32', 'forbidden', 'cloud metadata'],
  ['168.63.129.16/32', 'forbidden', 'cloud metadata'],
  ['0.0.0.0/8', 'forbidden', '"this network"'],
  ['10.0.0.0/8', 'private', 'private'],
  ['100.64.0.0/10', 'private', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'private', 'loopback'],
  ['169.254.0.0/16', 'forbidden', 'link-local'],
  ['172.16.0.0/12', 'private', 'private'],
  ['192.0.0.0/24', 'forbidden', 'reserved'],
  ['192.0.2.0/24', 'forbidden', 'documentation'],
  ['192.88.99.0/24', 'forbidden', 'reserved'],
  ['192.168.0.0/16', 'private', 'private'],
  ['198.18.0.0/15', 'forbidden', 'reserved'],
  ['198.51.100.0/24', 'forbidden', 'documentation'],
  ['203.0.113.0/24', 'forbidden', 'documentation'],
  ['224.0.0.0/4', 'forbidden', 'multicast'],
  ['240.0.0.0/4', 'forbidden', 'reserved'],
];

type Range6 = [cidr: string, cls: Exclude<AddressClass, 'public'> | 'embedded', label: string];
const V6: Range6[] = [
  ['::/128', 'forbidden', 'unspecified'],
  ['::1/128', 'private', 'loopback'],
  ['::ffff:0:0/96', 'embedded', 'IPv4-mapped'],
  ['::ffff:0:0:0/96', 'embedded', 'IPv4-translated'],
  ['::/96', 'embedded', 'IPv4-compatible'],
  ['64:ff9b::/96', 'embedded', 'NAT64'],
  ['64:ff9b:1::/48', 'forbidden', 'reserved'],
  ['100::/64', 'forbidden', 'reserved'],
  ['2001::/32', 'forbidden', 'Teredo'],
  ['2001:db8::/32', 'forbidden', 'documentation'],
  ['2002::/16', 'embedded', '6to4'],
  ['fd00:ec2::254/128', 'forbidden', 'cloud metadata'],
  ['fc00::/7', 'private', 'unique local'],
  ['fe80::/10', 'forbidden', 'link-local'],
  ['fec0::/10', 'forbidden', 'site-local'],
  ['ff00::/8', 'forbidden', 'multicast'],
];

function v4ToInt(a: string): number {
  return a.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function v6ToBigInt(a: string): bigint {
  let s = a.split('%')[0];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const n = v4ToInt(dotted[1]);
    s = s.slice(0, -dotted[1].length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

const parsed4 = V4.map(([cidr, cls, label]) => {
  const [base, bits] = cidr.split('/');
  const mask = bits === '0' ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  return { base: (v4ToInt(base) & mask) >>> 0, mask, cls, label };
});
const parsed6 = V6.map(([cidr, cls, label]) => {
  const [base, bits] = cidr.split('/');
  const mask = ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - Number(bits))) - 1n);
  return { base: v6ToBigInt(base) & mask, mask, cls, label };
});

function classify4(n: number): Verdict {
  for (const r of parsed4) if (((n & r.mask) >>> 0) === r.base) return { class: r.cls, label: r.label };
  return { class: 'public', label: 'public' };
}

function classify6(n: bigint): Verdict {
  for (const r of parsed6) {
    if ((n & r.mask) !== r.base) continue;
    if (r.cls !== 'embedded') return { class: r.cls, label: r.label };
    // 6to4 carries the IPv4 address in bits 16..47; the other forms in the low 32 bits.
    const v4 = r.label === '6to4' ? Number((n >> 80n) & 0xffffffffn) : Number(n & 0xffffffffn);
    const inner = classify4(v4);
    return inner.class === 'public' ? inner : { class: inner.class, label: `${r.label} ${inner.label}` };
  }
  return { class: 'public', label: 'public' };
}

/** Classifies an IP literal (IPv6 with or without brackets); null when it is not one. */
export function classifyAddress(address: string): Verdict | null {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(a)) return classify4(v4ToInt(a));
  if (isIPv6(a)) return classify6(v6ToBigInt(a));
  return null;
}

export function isAllowed(v: Verdict, allowPrivate: boolean): boolean {
  return v.class === 'public' || (v.class === 'private' && allowPrivate);
}
