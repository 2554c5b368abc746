/**
 * What `/upload` may fetch (README, 'Security rules of `/upload`'): pure checks on the URL and
 * on the addresses its host resolves to. The network code (request.ts) runs them before every connection.
 */
import net from 'node:net';
import ipaddr from 'ipaddr.js';
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

/**
 * ipaddr.js's names for the IPv4 ranges that are not the public internet (its table follows the
 * RFC 6890 special-purpose registry). Its AS112 and AMT anycast ranges are public and reachable.
 */
const V4_REFUSALS: Readonly<Record<string, AddressRefusal>> = {
  unspecified: 'unspecified', // "this network"; 0.0.0.0 itself reaches the local host on Linux
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local', // cloud metadata endpoints live here
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  reserved: 'reserved', // documentation, benchmarking (often routed internally), 240/4
};

/** The IPv6 ranges refused outright; those that carry an IPv4 address are judged by it instead. */
const V6_REFUSALS: Readonly<Record<string, AddressRefusal>> = {
  unspecified: 'unspecified',
  loopback: 'loopback',
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local',
  deprecatedSiteLocal: 'unique-local', // deprecated site-local, private in practice
  multicast: 'multicast',
  reserved: 'reserved', // 2001::/23 less Teredo, and 2001:db8::/32, the documentation range
  discard: 'reserved',
  benchmarking: 'reserved',
  deprecatedOrchid: 'reserved',
  orchid2: 'reserved',
};

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

function classifyV4(address: ipaddr.IPv4): AddressRefusal | null {
  return V4_REFUSALS[address.range()] ?? null;
}

/** The IPv4 address in an IPv6 address's last 32 bits. */
function lastV4(parts: readonly number[]): ipaddr.IPv4 {
  const [g = 0, h = 0] = parts.slice(6);
  return new ipaddr.IPv4([g >> 8, g & 0xff, h >> 8, h & 0xff]);
}

function classifyV6(address: ipaddr.IPv6): AddressRefusal | null {
  const { parts } = address;
  const range = address.range();
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d) and NAT64 (64:ff9b::/96)
  // reach the IPv4 address they carry.
  if (range === 'ipv4Mapped' || range === 'rfc6145') return classifyV4(lastV4(parts));
  if (range === 'rfc6052') {
    // 64:ff9b:1::/48 is a network's own translator prefix, its IPv4 embedding its own choice.
    return parts[2] === 0 ? classifyV4(lastV4(parts)) : 'reserved';
  }
  // 6to4 (2002::/16) carries an IPv4 address in its second and third hextets.
  if (range === '6to4') return classifyV4(lastV4([0, 0, 0, 0, 0, 0, parts[1] ?? 0, parts[2] ?? 0]));
  const refusal = V6_REFUSALS[range];
  if (refusal) return refusal;
  // The old IPv4-compatible form (::a.b.c.d) reaches the IPv4 address; anything else in ::/96 is unassigned.
  if (parts.slice(0, 6).every((p) => p === 0)) return classifyV4(lastV4(parts));
  if (parts.slice(0, 5).every((p) => p === 0)) return 'reserved';
  return null;
}

/**
 * GIVEN an IP address (as dns.lookup returns it) THEN null when it is public unicast, else
 * why it is refused. IPv4 inside IPv6 (mapped, compatible, NAT64, 6to4) is judged as IPv4.
 */
export function classifyAddress(address: string): AddressRefusal | null {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''); // brackets and an IPv6 zone id
  // net.isIP first: ipaddr.js also takes the shorthand forms (`127.1`, `0x7f.1`) dns never returns.
  if (net.isIP(bare) === 0) return 'not an IP address';
  const parsed = ipaddr.parse(bare);
  return parsed.kind() === 'ipv4' ? classifyV4(parsed as ipaddr.IPv4) : classifyV6(parsed as ipaddr.IPv6);
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
