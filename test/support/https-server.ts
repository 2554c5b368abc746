/**
 * A small HTTPS file server on 127.0.0.1 for the `/upload` tests, written on raw TLS sockets
 * so it can misbehave on purpose: lie about Content-Length, drop the connection mid-body,
 * ignore Range, redirect in loops. Its certificate is test/fixtures/tls/cert.pem (trust it
 * with `ca` in-process, or NODE_EXTRA_CA_CERTS in the bot process).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../../src/config.js';
import { urlLimits } from '../../src/transfer/url/speed.js';
import { sleep } from './wait.js';

const TLS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/tls');
export const TEST_CA_PATH = path.join(TLS_DIR, 'cert.pem');
const TEST_CA = readFileSync(TEST_CA_PATH);
const KEY = readFileSync(path.join(TLS_DIR, 'key.pem'));

export interface FileRoute {
  kind: 'file';
  data: Buffer;
  etag?: string;
  lastModified?: string;
  /** Answer `Accept-Ranges: bytes` and honour `Range: bytes=N-` (with If-Range). */
  ranges?: boolean;
  /** No Content-Length: chunked transfer encoding. */
  chunked?: boolean;
  disposition?: string;
  /** Announce this Content-Length whatever the body is (a lying server). */
  contentLength?: number;
  /** The first `times` GETs close the connection after this many body bytes. */
  drop?: { afterBytes: number; times: number };
  /** Bytes written between pauses, and the pause, to keep a download going for a while. */
  throttle?: { bytes: number; pauseMs: number };
  /** The status line and headers go out one byte per pause (a server that never quite answers). */
  slowHeaders?: { pauseMs: number };
}

interface RedirectRoute {
  kind: 'redirect';
  status?: 301 | 302 | 303 | 307 | 308;
  location: string;
}

interface StatusRoute {
  kind: 'status';
  status: number;
}

/**
 * Any route: its answer (status line on) waits for `hold` to settle, so a test decides when
 * the server answers instead of hoping a delay is long enough.
 */
type Route = (FileRoute | RedirectRoute | StatusRoute) & { hold?: Promise<unknown> };

interface SeenRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Whether the connection that carried it has closed (both sides). */
  closed: boolean;
}

export interface TestHttpsServer {
  port: number;
  /** `https://localhost:PORT` */
  origin: string;
  routes: Map<string, Route>;
  requests: SeenRequest[];
  stop(): Promise<void>;
}

export async function startHttpsServer(): Promise<TestHttpsServer> {
  const routes = new Map<string, Route>();
  const requests: SeenRequest[] = [];
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ key: KEY, cert: TEST_CA }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // clients that hang up mid-body are expected here
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 64 * 1024) socket.destroy();
        return;
      }
      socket.off('data', onData);
      const [requestLine = '', ...lines] = head.slice(0, end).split('\r\n');
      const [method = '', target = ''] = requestLine.split(' ');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const seen: SeenRequest = { method, path: target, headers, closed: false };
      socket.once('close', () => (seen.closed = true));
      requests.push(seen);
      void respond(socket, seen, routes.get(target.split('?')[0] ?? '')).catch(() => socket.destroy());
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  const gets = new Map<string, number>();

  async function respond(socket: tls.TLSSocket, req: SeenRequest, route: Route | undefined): Promise<void> {
    const write = (text: string | Buffer) =>
      new Promise<void>((resolve, reject) => {
        if (socket.destroyed) return reject(new Error('socket gone'));
        socket.write(text, (err) => (err ? reject(err) : resolve()));
      });
    if (route?.hold) await route.hold;
    if (!route) {
      await write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      socket.end();
      return;
    }
    if (route.kind === 'status') {
      await write(`HTTP/1.1 ${route.status} Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      socket.end();
      return;
    }
    if (route.kind === 'redirect') {
      await write(`HTTP/1.1 ${route.status ?? 302} Redirect\r\nLocation: ${route.location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      socket.end();
      return;
    }
    const n = (gets.get(req.path) ?? 0) + 1;
    gets.set(req.path, n);
    const { data } = route;
    let start = 0;
    let status = '200 OK';
    const extra: string[] = [];
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const validatorOk = ifRange === undefined || ifRange === route.etag || ifRange === route.lastModified;
    if (route.ranges && range && validatorOk && Number(range[1]) < data.length) {
      start = Number(range[1]);
      status = '206 Partial Content';
      extra.push(`Content-Range: bytes ${start}-${data.length - 1}/${data.length}`);
    }
    const body = data.subarray(start);
    if (route.ranges) extra.push('Accept-Ranges: bytes');
    if (route.etag) extra.push(`ETag: ${route.etag}`);
    if (route.lastModified) extra.push(`Last-Modified: ${route.lastModified}`);
    if (route.disposition) extra.push(`Content-Disposition: ${route.disposition}`);
    if (route.chunked) extra.push('Transfer-Encoding: chunked');
    else extra.push(`Content-Length: ${route.contentLength ?? body.length}`);
    const head = Buffer.from(`HTTP/1.1 ${status}\r\n${extra.join('\r\n')}\r\nConnection: close\r\n\r\n`);
    if (route.slowHeaders) {
      // Bounded: one byte per turn of a finite head; a client that gives up ends it (write rejects).
      for (let at = 0; at < head.length; at++) {
        await write(head.subarray(at, at + 1));
        await sleep(route.slowHeaders.pauseMs);
      }
    } else {
      await write(head);
    }
    if (req.method === 'HEAD') return void socket.end();
    const dropAt = route.drop && n <= route.drop.times ? route.drop.afterBytes : Infinity;
    const slice = route.throttle?.bytes ?? 256 * 1024;
    // A lie of "longer than announced": the announced end and 1 KiB more go in one small write
    // (one TLS record), so the client's parser meets the extra bytes while it reads the body.
    const liesLonger = route.contentLength !== undefined && route.contentLength < body.length;
    const bodyEnd = liesLonger ? Math.min(body.length, route.contentLength! + 1024) : body.length;
    const lastWrite = liesLonger ? Math.max(0, route.contentLength! - 1024) : Infinity;
    // Bounded: the body is finite and every turn writes at least one byte.
    for (let at = 0; at < bodyEnd;) {
      const size = at >= lastWrite ? bodyEnd - at : Math.min(slice, bodyEnd - at, Math.max(1, dropAt - at), Math.max(1, lastWrite - at));
      const piece = body.subarray(at, at + size);
      at += size;
      await write(route.chunked ? Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece);
      if (at >= dropAt) {
        socket.destroy();
        return;
      }
      if (route.throttle) await sleep(route.throttle.pauseMs);
    }
    if (route.chunked) await write('0\r\n\r\n');
    socket.end();
  }

  return {
    port,
    origin: `https://localhost:${port}`,
    routes,
    requests,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The environment a bot process needs to /upload from this server: `hosts` allowlisted, the
 * test certificate trusted, and names resolved by test/support/fake-dns.mjs (`dns`, as
 * `name=address,…`), so no lookup leaves the machine. By default `files.test` is this server.
 */
export function uploadEnv({ hosts = 'files.test', dns = 'files.test=127.0.0.1' }: { hosts?: string; dns?: string } = {}): Record<string, string> {
  const fakeDns = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'fake-dns.mjs');
  return { UPLOAD_ALLOWED_HOSTS: hosts, NODE_EXTRA_CA_CERTS: TEST_CA_PATH, NODE_OPTIONS: `--import ${fakeDns}`, DFS_TEST_DNS: dns };
}

/**
 * What the URL code needs in-process to fetch from this server: `localhost` allowlisted, the
 * test certificate trusted, and the bot's default time and speed limits (the engine has none
 * of its own).
 */
export function localUrlOptions<T extends object>(extra: T): { allowedHosts: string[]; ca: Buffer } & ReturnType<typeof urlLimits> & T {
  return { allowedHosts: ['localhost'], ca: TEST_CA, ...urlLimits(DEFAULTS), ...extra };
}
