import { DEFAULTS } from '../../../src/config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { HeadersTimeoutError, HttpStatusError, UrlRefusedError } from '../../../src/errors.js';
import { urlInfo } from '../../../src/transfer/url/headers.js';
import { openUrl, type ResolveAll } from '../../../src/transfer/url/request.js';
import { localUrlOptions, startHttpsServer, type TestHttpsServer } from '../../support/https-server.js';

describe('openUrl against a local HTTPS server', () => {
  let srv: TestHttpsServer;
  const data = Buffer.from('hello over https\n');
  beforeAll(async () => {
    srv = await startHttpsServer();
    srv.routes.set('/file.txt', { kind: 'file', data, etag: '"v1"', ranges: true, disposition: 'attachment; filename="report 2024.txt"' });
    srv.routes.set('/missing', { kind: 'status', status: 404 });
    for (let i = 0; i < 6; i++)
      srv.routes.set(`/hop${i}`, {
        kind: 'redirect',
        location: i === 5 ? '/file.txt' : `/hop${i + 1}`,
        status: ([301, 302, 303, 307, 308] as const)[i % 5]!,
      });
    srv.routes.set('/to-metadata', { kind: 'redirect', location: 'https://169.254.169.254/latest/meta-data/' });
    srv.routes.set('/to-literal', { kind: 'redirect', location: `https://127.0.0.1:${srv.port}/file.txt` });
    srv.routes.set('/to-http', { kind: 'redirect', location: `http://localhost:${srv.port}/file.txt` });
    srv.routes.set('/to-credentials', { kind: 'redirect', location: `https://a:b@localhost:${srv.port}/file.txt` });
    srv.routes.set('/to-file', { kind: 'redirect', location: 'file:///etc/passwd' });
    srv.routes.set('/slow-head', { kind: 'file', data, slowHeaders: { pauseMs: 30 } });
    srv.routes.set('/to-slow-head', { kind: 'redirect', location: '/slow-head' });
    srv.routes.set('/to-http-query', { kind: 'redirect', location: `http://localhost:${srv.port}/file.txt?token=s3cret` });
  });
  afterAll(async () => {
    await srv?.stop();
  });

  const base = localUrlOptions({});
  const read = async (res: NodeJS.ReadableStream) => {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };

  it('GIVEN an allowlisted host THEN the response and its metadata come back', async () => {
    const opened = await openUrl(`${srv.origin}/file.txt`, base);
    expect(opened.response.statusCode).toBe(200);
    expect(urlInfo(opened.response, opened.url)).toEqual({
      name: 'report 2024.txt',
      size: data.length,
      etag: '"v1"',
      lastModified: null,
      acceptsRanges: true,
    });
    expect(await read(opened.response)).toEqual(data);
    expect(await opened.closed).toBeNull();
  });

  it('GIVEN a chain of 5 redirects of every kind THEN it is followed', async () => {
    const opened = await openUrl(`${srv.origin}/hop1`, base);
    expect(opened.redirects).toBe(5);
    expect(opened.url.pathname).toBe('/file.txt');
    opened.response.destroy();
  });

  it('GIVEN 6 redirects THEN it is refused', async () => {
    await expect(openUrl(`${srv.origin}/hop0`, base)).rejects.toThrow(/Too many redirects: more than 5/);
  });

  it.each([
    ['the cloud metadata address', '/to-metadata', /169\.254\.169\.254, a link-local address/],
    ['a loopback IP that is not allowlisted', '/to-literal', /127\.0\.0\.1, a loopback address/],
    ['plain http', '/to-http', /Plain `http:\/\/` URLs are refused/],
    ['a URL with credentials', '/to-credentials', /user name or password/],
  ])('GIVEN a redirect to %s THEN it is refused before connecting there', async (_label, route, message) => {
    const before = srv.requests.length;
    const error = await openUrl(`${srv.origin}${route}`, base).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UrlRefusedError);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
    // Only the redirecting hop reached the server.
    expect(srv.requests.length).toBe(before + 1);
  });

  it.each([
    ['file:///etc/passwd', '/to-file', /redirected to file:… — `file:` URLs are refused/, ['/etc/passwd', 'null']],
    [
      'an http URL with a query',
      '/to-http-query',
      /redirected to http:\/\/localhost:\d+\/file\.txt\?… — Plain `http:\/\/` URLs are refused/,
      ['s3cret'],
    ],
  ])('GIVEN a redirect to %s THEN the refusal names the target without its path on the host or its query', async (_label, route, message, hidden) => {
    const error = await openUrl(`${srv.origin}${route}`, base).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UrlRefusedError);
    expect((error as Error).message).toMatch(message);
    for (const text of hidden) expect((error as Error).message).not.toContain(text);
  });

  it.each([
    ['0.0.0.0', /0\.0\.0\.0, an unspecified address;/],
    ['::', /::, an unspecified address;/],
    ['fd00::1', /fd00::1, a unique-local address;/],
    ['100.64.0.1', /100\.64\.0\.1, a carrier-grade NAT address;/],
  ])('GIVEN a name that resolves to %s THEN the refusal reads with the right article', async (address, message) => {
    const resolveAll: ResolveAll = async () => [{ address, family: address.includes(':') ? 6 : 4 }];
    await expect(
      openUrl('https://inside.example/x', { allowedHosts: [], resolveAll, headersTimeoutMs: DEFAULTS.URL_HEADERS_TIMEOUT_MS }),
    ).rejects.toThrow(message);
  });

  it.each([
    ['the first hop', '/slow-head'],
    ['a redirect target', '/to-slow-head'],
  ])('GIVEN %s sends its headers one byte at a time THEN openUrl gives up once the headers deadline has passed', async (_label, route) => {
    const error = await openUrl(`${srv.origin}${route}`, { ...base, headersTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeadersTimeoutError);
    expect((error as HeadersTimeoutError).timeoutMs).toBe(300);
    expect((error as Error).message).toMatch(/did not send its status line and headers within 300 ms \(URL_HEADERS_TIMEOUT_MS\)/);
  });

  it('GIVEN a 404 THEN HttpStatusError names the status', async () => {
    await expect(openUrl(`${srv.origin}/missing`, base)).rejects.toBeInstanceOf(HttpStatusError);
  });

  it('GIVEN a name that resolves to a private address and is not allowlisted THEN it is refused without connecting', async () => {
    const resolveAll: ResolveAll = async () => [{ address: '10.1.2.3', family: 4 }];
    await expect(
      openUrl('https://intranet.example/x', { allowedHosts: [], resolveAll, headersTimeoutMs: DEFAULTS.URL_HEADERS_TIMEOUT_MS }),
    ).rejects.toThrow(/10\.1\.2\.3, a private address/);
  });

  it('GIVEN a name with one public and one private address THEN it is refused', async () => {
    const resolveAll: ResolveAll = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '::ffff:192.168.0.10', family: 6 },
    ];
    await expect(
      openUrl('https://mixed.example/x', { allowedHosts: [], resolveAll, headersTimeoutMs: DEFAULTS.URL_HEADERS_TIMEOUT_MS }),
    ).rejects.toThrow(/192\.168\.0\.10, a private address/);
  });

  it('GIVEN localhost not allowlisted THEN it is refused as loopback', async () => {
    await expect(openUrl(`${srv.origin}/file.txt`, { ...base, allowedHosts: [] })).rejects.toThrow(/loopback/);
  });

  it('GIVEN an allowlisted name THEN the socket connects to the resolved address only, asking DNS once', async () => {
    // files.test does not exist in DNS: the connection can only have used our answer.
    let calls = 0;
    const resolveAll: ResolveAll = async () => {
      calls++;
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const opened = await openUrl(`https://files.test:${srv.port}/file.txt`, { ...base, allowedHosts: ['files.test'], resolveAll });
    expect(await read(opened.response)).toEqual(data);
    expect(calls).toBe(1);
    expect(srv.requests.at(-1)?.headers.host).toBe(`files.test:${srv.port}`);
  });

  it('GIVEN an aborted signal THEN the request rejects', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(openUrl(`${srv.origin}/file.txt`, { ...base, signal: controller.signal })).rejects.toThrow(/abort/i);
  });
});
