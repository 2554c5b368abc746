/**
 * A download link's client that stops reading (src/web/download.ts): it is cut off after the
 * stall time, and its WEB_MAX_DOWNLOADS slot is free again. The link's streaming without the
 * bot around it: a real HTTP server and client sockets, the parts from a fetcher that makes
 * their bytes (how they are fetched and checked is test/web/download.test.ts's business).
 */
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { Downloads, type PartFetcher } from '../../src/web/download.js';
import { ShareLinks } from '../../src/web/share-links.js';
import { sampleTransfer } from '../store/helpers.js';
import { MIB } from '../support/units.js';
import { sleep } from '../support/wait.js';

const PART = 8 * MIB;
const PARTS = 8; // 64 MiB: far more than the sockets' buffers hold
const STALL_MS = 400;

/**
 * Every part, checked at once, read back in 64 KiB pieces. It does not look at the client's
 * signal: the writer alone must notice a client cut off or gone (a piece already in hand is
 * written after the abort).
 */
function fetcherFor(): PartFetcher {
  const piece = Buffer.alloc(64 * 1024, 7);
  return {
    prefetch: async () => {},
    checkedPart: async () => ({
      read: async function* (start, end) {
        for (let at = start; at < end; at += piece.length) yield piece.subarray(0, Math.min(piece.length, end - at));
      },
      close: async () => {},
    }),
  };
}

async function completeTransfer(store: MemoryStore): Promise<string> {
  const t = await store.create(sampleTransfer('upload_stall1', { file_size: PART * PARTS, total_chunks: PARTS, chunk_size_bytes: PART }));
  await store.update(t.id, (d) => {
    d.status = 'in_progress';
  });
  await store.update(t.id, (d) => {
    for (let i = 0; i < PARTS; i++) {
      d.parts.push({
        index: i,
        name: `movie.mkv.part00${i + 1}`,
        offset: i * PART,
        size: PART,
        sha256: 'a'.repeat(64),
        message_id: `${900 + i}`,
        attachment_id: `${800 + i}`,
      });
      d.completed_chunks.push(i);
    }
    d.file_sha256 = 'b'.repeat(64);
    d.status = 'complete';
  });
  return t.id;
}

/** Sends a GET: its status line once it has one, and (when it reads) the body bytes received so far. */
function get(port: number, path: string, read: boolean): { socket: Socket; status: Promise<string>; bodyBytes: () => number } {
  const socket = connect(port, '127.0.0.1');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  let head = Buffer.alloc(0);
  let headEnd = -1;
  let total = 0;
  const status = new Promise<string>((resolve) => {
    socket.on('data', (d: Buffer) => {
      total += d.length;
      if (headEnd < 0) {
        head = Buffer.concat([head, d]);
        const at = head.indexOf('\r\n\r\n');
        if (at >= 0) {
          headEnd = at + 4;
          resolve(head.subarray(0, head.indexOf('\r\n')).toString('latin1'));
          if (!read) socket.pause();
        }
      }
    });
  });
  socket.on('error', () => undefined);
  return { socket, status, bodyBytes: () => (headEnd < 0 ? 0 : total - headEnd) };
}

describe('a download client that stops reading', () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    sockets.length = 0;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('GIVEN WEB_MAX_DOWNLOADS=1 and a client that reads nothing after the headers THEN it is cut off after the stall time and the next client gets the file', async () => {
    const store = new MemoryStore();
    const id = await completeTransfer(store);
    const links = new ShareLinks('s'.repeat(32));
    const log = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    const downloads = new Downloads({ store, links, log, openFetcher: fetcherFor, maxDownloads: 1, clientStallMs: STALL_MS });
    server = createServer((req, res) => void downloads.serve(req, res, req.url!.split('/')[2]!));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const url = new URL(links.url(`http://127.0.0.1:${port}`, { t: id, g: 0, e: Date.now() + 3_600_000 }, 'movie.mkv')).pathname;

    const stalled = get(port, url, false);
    sockets.push(stalled.socket);
    expect(await stalled.status).toBe('HTTP/1.1 200 OK');
    // While it holds the only slot, another client is turned away.
    await sleep(50);
    const refused = get(port, url, true);
    sockets.push(refused.socket);
    expect(await refused.status).toBe('HTTP/1.1 503 Service Unavailable');

    // Cut off: the slot is free again (bounded polling, well past the stall time); until then, 503s.
    let next: ReturnType<typeof get> | undefined;
    const until = Date.now() + STALL_MS * 20;
    while (Date.now() < until) {
      const attempt = get(port, url, true);
      sockets.push(attempt.socket);
      if ((await attempt.status) === 'HTTP/1.1 200 OK') {
        next = attempt;
        break;
      }
      attempt.socket.destroy();
      await sleep(100);
    }
    if (!next) throw new Error(`the stalled client still held the slot after ${STALL_MS * 20} ms`);
    // Keep-alive: the connection stays open; the whole body arrives (bounded wait).
    const deadline = Date.now() + 30_000;
    while (next.bodyBytes() < PART * PARTS && Date.now() < deadline) await sleep(20);
    expect(next.bodyBytes()).toBe(PART * PARTS);
  });
});
