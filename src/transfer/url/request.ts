/**
 * Opening a remote `https` URL for `/upload` without letting it reach the bot's own network:
 * every hop's host is resolved, every address checked (policy.ts), and the connection
 * made to exactly the checked addresses — the socket's `lookup` answers with them, so a DNS
 * answer that changes between the check and the connect (rebinding) is never used.
 * Redirects are followed here too, each hop checked the same way, so no redirect can lead
 * around the rules. The body is then read by the caller, at a minimum speed (speed.ts).
 */
import dns from 'node:dns';
import https from 'node:https';
import net from 'node:net';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import { errnoCode, HeadersTimeoutError, HttpStatusError, messageOf, UrlRefusedError } from '../../errors.js';
import { classifyAddress, describeRefusal, displayUrl, isAllowlisted, normalizeHost, parseUploadUrl } from './policy.js';

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address (dns.lookup with `all`); injectable for tests. */
export type ResolveAll = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolveAll: ResolveAll = async (hostname) => {
  const found = await dns.promises.lookup(hostname, { all: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

export interface OpenUrlOptions {
  /** UPLOAD_ALLOWED_HOSTS: hosts whose addresses are not checked. */
  allowedHosts: readonly string[];
  headers?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
  resolveAll?: ResolveAll | undefined;
  /** Extra trusted CA certificates (tests; the bot process uses NODE_EXTRA_CA_CERTS). */
  ca?: string | Buffer | undefined;
  /** URL_HEADERS_TIMEOUT_MS: each hop's status line and headers must have arrived by then. */
  headersTimeoutMs: number;
}

export interface OpenedUrl {
  response: IncomingMessage;
  /** The URL that answered, after redirects. */
  url: URL;
  redirects: number;
  /**
   * Resolves once the connection is closed, with the error the HTTP client reported after
   * the body, if any: bytes beyond Content-Length show up here as a parse error.
   */
  closed: Promise<Error | null>;
}

/**
 * GIVEN a URL THEN the response of the first hop that is not a redirect (status 2xx), after
 * checking every hop. Refusals throw UrlRefusedError before any connection to the refused
 * address; an unwanted status throws HttpStatusError.
 */
export async function openUrl(input: URL | string, options: OpenUrlOptions): Promise<OpenedUrl> {
  let url = typeof input === 'string' ? parseUploadUrl(input) : input;
  for (let redirects = 0; redirects <= MAX_REDIRECTS; redirects++) {
    const addresses = await checkedAddresses(url, options);
    const { response, closed } = await request(url, addresses, options);
    const status = response.statusCode ?? 0;
    if (REDIRECT_STATUSES.has(status)) {
      const location = response.headers.location;
      response.destroy();
      if (!location) throw new HttpStatusError(status, url.href, displayUrl(url));
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new UrlRefusedError(`${displayUrl(url)} redirected to something that is not a URL.`);
      }
      try {
        url = parseUploadUrl(next.href);
      } catch (error) {
        throw new UrlRefusedError(`${displayUrl(url)} redirected to ${displayUrl(next)} — ${messageOf(error)}`);
      }
      if (redirects === MAX_REDIRECTS) break;
      continue;
    }
    if (status < 200 || status > 299) {
      response.destroy();
      throw new HttpStatusError(status, url.href, displayUrl(url));
    }
    return { response, url, redirects, closed };
  }
  throw new UrlRefusedError(`Too many redirects: more than ${MAX_REDIRECTS} (last: ${displayUrl(url)}).`);
}

/** The addresses the connection may use: all of the host's, each checked unless the host is allowlisted. */
async function checkedAddresses(url: URL, options: Pick<OpenUrlOptions, 'allowedHosts' | 'resolveAll'>): Promise<ResolvedAddress[]> {
  const host = normalizeHost(url.hostname);
  const literal = net.isIP(host);
  let addresses: ResolvedAddress[];
  if (literal !== 0) {
    addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await (options.resolveAll ?? systemResolveAll)(host);
    } catch (error) {
      throw new UrlRefusedError(`Cannot resolve the host \`${host}\`: ${errnoCode(error) ?? messageOf(error)}.`);
    }
    if (addresses.length === 0) throw new UrlRefusedError(`The host \`${host}\` has no address.`);
  }
  if (isAllowlisted(host, options.allowedHosts)) return addresses;
  for (const { address } of addresses) {
    const why = classifyAddress(address);
    // Refused if any address is: the connection could otherwise land on that one.
    if (why !== null) {
      throw new UrlRefusedError(
        `\`${host}\` resolves to ${address}, ${describeRefusal(why)}; /upload does not fetch from the bot's own network ` +
          '(an operator can allow a host with UPLOAD_ALLOWED_HOSTS).',
      );
    }
  }
  return addresses;
}

function request(
  url: URL,
  addresses: ResolvedAddress[],
  options: OpenUrlOptions,
): Promise<{ response: IncomingMessage; closed: Promise<Error | null> }> {
  const host = normalizeHost(url.hostname);
  // The socket asks this instead of DNS: it can only get the addresses checked above.
  const lookup: LookupFunction = (_hostname, lookupOptions, callback) => {
    const family = typeof lookupOptions === 'object' ? lookupOptions.family : lookupOptions;
    const wanted = addresses.filter((a) => !family || family === a.family || family === `IPv${a.family}`);
    const usable = wanted.length > 0 ? wanted : addresses;
    if (typeof lookupOptions === 'object' && lookupOptions.all) {
      (callback as unknown as (err: null, all: ResolvedAddress[]) => void)(null, usable);
    } else {
      callback(null, usable[0]!.address, usable[0]!.family);
    }
  };
  return new Promise((resolve, reject) => {
    let lateError: Error | null = null;
    let req: ClientRequest;
    try {
      req = https.request({
        protocol: 'https:',
        hostname: host,
        port: url.port || 443,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: {
          'user-agent': 'discord-file-splitter',
          // The bytes posted must be the file's bytes, not a compressed transfer of them.
          'accept-encoding': 'identity',
          ...options.headers,
        },
        lookup,
        // TLS checks the certificate against the host name (SNI), not the address connected to.
        ...(net.isIP(host) === 0 ? { servername: host } : {}),
        agent: false,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      reject(error instanceof Error ? error : new Error(messageOf(error)));
      return;
    }
    // A deadline, not an idle timeout: a server sending one byte a second is never idle.
    const { headersTimeoutMs } = options;
    const deadline = setTimeout(() => req.destroy(new HeadersTimeoutError(headersTimeoutMs)), headersTimeoutMs);
    const closed = new Promise<Error | null>((done) =>
      req.once('close', () => {
        clearTimeout(deadline);
        done(lateError);
      }),
    );
    req.on('error', (error) => {
      lateError ??= error;
      reject(error);
    });
    req.once('response', (response) => {
      // From here the reader judges the pace: it stops reading while parts upload
      // (backpressure), and that silence must not count (see readAtMinimumSpeed).
      clearTimeout(deadline);
      resolve({ response, closed });
    });
    req.end();
  });
}
