/**
 * What `/upload` may fetch (SPEC section 2): pure checks on the URL and on the addresses its
 * host resolves to. The network code (request.ts) runs them before every connection.
 */
import net from 'node:net';
import { UserError } from '../../errors.js';

/** Why an address is refused, or null when it is a public unicast address. */
export type AddressRefusal =
  | 'loopback'
  | 'private'
  | 'carrier-grade NAT'
  | 'link-local'
  | 'unique-local'
  | 'multicast'
  | 'unspecified'
  | 'broadcast'
  | 'reserved'
  | 'not an IP address';

type V4Rule = [base: string, bits: number, why: AddressRefusal];

/** IPv4 ranges that are not the public internet (RFC 6890 special-purpose registry, trimmed). */
const V4_RULES: V4Rule[] = [
  ['0.0.0.0', 8, 'unspecified'], // "this network"; 0.0.0.0 itself reaches the local host on Linux
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], // cloud metadata endpoints live here
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'reserved'], // documentation
  ['192.88.99.0', 24, 'reserved'], // old 6to4 relays
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking, often routed internally
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['255.255.255.255', 32, 'broadcast'], // before 240/4 so the broadcast address gets its own name
  ['240.0.0.0', 4, 'reserved'],
];

/** Each refusal as a phrase for a sentence, its article written out ("a unique-local", "an unspecified"). */
const REFUSAL_PHRASES: Record<AddressRefusal, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  'carrier-grade NAT': 'a carrier-grade NAT address',
  'link-local': 'a link-local address',
  'unique-local': 'a unique-local address',
  multicast: 'a multicast address',
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
  reserved: 'a reserved address',
  'not an IP address': 'not an IP address',
};

export function describeRefusal(why: AddressRefusal): string {
  return REFUSAL_PHRASES[why];
}

function v4ToInt(address: string): number {
  const octets = address.split('.').map(Number);
  return ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
}

function classifyV4(value: number): AddressRefusal | null {
  for (const [base, bits, why] of V4_RULES) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((value & mask) >>> 0 === (v4ToInt(base) & mask) >>> 0) return why;
  }
  return null;
}

/** The 8 hextets of an IPv6 address (already validated by net.isIPv6), a trailing dotted IPv4 expanded. */
function v6Hextets(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const v4 = v4ToInt(dotted[1]);
    text = `${text.slice(0, -dotted[1].length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const zeros = new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}

function classifyV6(h: number[]): AddressRefusal | null {
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, last = 0] = h;
  const embeddedV4 = ((g << 16) | last) >>> 0;
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0) {
    if (f === 0 && g === 0 && last === 0) return 'unspecified';
    if (f === 0 && g === 0 && last === 1) return 'loopback';
    // IPv4-mapped (::ffff:a.b.c.d) and the old IPv4-compatible (::a.b.c.d) forms reach the IPv4 address.
    if (f === 0xffff || f === 0) return classifyV4(embeddedV4);
    return 'reserved';
  }
  // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address through a translator.
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0) return classifyV4(embeddedV4);
  // 6to4 (2002::/16) carries an IPv4 address in its second and third hextets.
  if (a === 0x2002) return classifyV4(((b << 16) | c) >>> 0);
  if ((a & 0xffc0) === 0xfe80) return 'link-local';
  if ((a & 0xffc0) === 0xfec0) return 'unique-local'; // deprecated site-local, private in practice
  if ((a & 0xfe00) === 0xfc00) return 'unique-local';
  if ((a & 0xff00) === 0xff00) return 'multicast';
  if (a === 0x2001 && b === 0x0db8) return 'reserved'; // documentation
  if (a === 0x0100 && b === 0 && c === 0 && d === 0) return 'reserved'; // discard-only
  return null;
}

/**
 * GIVEN an IP address (as dns.lookup returns it) THEN null when it is public unicast, else
 * why it is refused. IPv4 inside IPv6 (mapped, compatible, NAT64, 6to4) is judged as IPv4.
 */
export function classifyAddress(address: string): AddressRefusal | null {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''); // brackets and an IPv6 zone id
  const family = net.isIP(bare);
  if (family === 4) return classifyV4(v4ToInt(bare));
  if (family === 6) return classifyV6(v6Hextets(bare));
  return 'not an IP address';
}

/** The host as the allowlist and DNS see it: lowercase, no brackets, no trailing dot. */
export function normalizeHost(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

export function isAllowlisted(hostname: string, allowedHosts: readonly string[]): boolean {
  const host = normalizeHost(hostname);
  return allowedHosts.some((h) => normalizeHost(h) === host);
}

/**
 * GIVEN what a user typed as `url` THEN the URL to fetch, or a UserError saying why it is not
 * accepted: only https, no credentials. Addresses are checked later, when resolved.
 */
export function parseUploadUrl(input: string): URL {
  const text = input.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError('That is not a URL. Give a full `https://…` address.');
  }
  if (url.protocol === 'http:') {
    throw new UserError('Plain `http://` URLs are refused: the download could be read or changed on the way. Use an `https://` URL.');
  }
  if (url.protocol !== 'https:') {
    throw new UserError(`\`${url.protocol}\` URLs are refused: /upload fetches \`https://\` URLs only.`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new UserError('URLs with a user name or password in them are refused: they would be stored in the progress file and shown in messages.');
  }
  if (url.hostname === '') throw new UserError('That URL has no host.');
  return url;
}

/**
 * A URL for messages and logs: no query string, which often carries a signature or token.
 * Other schemes show only the scheme: a `file:` URL's path is a path on some host.
 */
export function displayUrl(url: URL | string): string {
  const u = new URL(String(url));
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `${u.protocol}…`;
  return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
}
