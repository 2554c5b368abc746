import { DEFAULTS } from '../../../src/config.js';
import { urlLimits } from '../../../src/transfer/url/speed.js';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transferSchema, type TransferRecord } from '../../../src/store/schema.js';
import type { SourcePart } from '../../../src/transfer/chunker.js';
import { LowSpeedError, UrlSourceError } from '../../../src/errors.js';
import { openUrlSource, type UrlPartSource } from '../../../src/transfer/url/source.js';
import { startHttpsServer, TEST_CA, type FileRoute, type TestHttpsServer } from '../../support/https-server.js';
import { seededBytes } from '../../support/random-file.js';

const CHUNK = 64 * 1024;
const DATA = seededBytes(3 * CHUNK + 12_345, 7);
const SHA = createHash('sha256').update(DATA).digest('hex');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function record(
  url: string,
  over: {
    file_size?: number | null;
    etag?: string | null;
    accepts_ranges?: boolean;
    parts?: TransferRecord['parts'];
    hash_checkpoint?: { offset: number; state: string } | null;
  } = {},
): TransferRecord {
  const now = new Date().toISOString();
  return transferSchema.parse({
    id: 'upload_abc123',
    status: 'in_progress',
    source: {
      kind: 'url',
      url,
      etag: over.etag ?? null,
      last_modified: null,
      accepts_ranges: over.accepts_ranges ?? false,
      hash_checkpoint: over.hash_checkpoint ?? null,
    },
    file_name: 'data.bin',
    file_size: over.file_size === undefined ? DATA.length : over.file_size,
    chunk_size_bytes: CHUNK,
    total_chunks: null,
    owner_id: '1',
    channel_id: '2',
    parts: over.parts ?? [],
    created_at: now,
    updated_at: now,
  });
}

async function collect(source: UrlPartSource): Promise<SourcePart[]> {
  const parts: SourcePart[] = [];
  for await (const p of source) parts.push(p);
  return parts;
}

describe('the url part source', () => {
  let srv: TestHttpsServer;
  const options = { allowedHosts: ['localhost'], ca: TEST_CA, maxFileSize: 10 * 1024 * 1024, ...urlLimits(DEFAULTS) };
  beforeAll(async () => {
    srv = await startHttpsServer();
  });
  afterAll(async () => {
    await srv?.stop();
  });
  const serve = (path: string, route: Omit<FileRoute, 'kind' | 'data'> & { data?: Buffer }) => {
    srv.routes.set(path, { kind: 'file', data: DATA, ...route });
    return `${srv.origin}${path}`;
  };

  it.each([
    ['a Content-Length', {}, DATA.length],
    ['chunked encoding and no size', { chunked: true }, null],
  ])('GIVEN %s THEN parts of chunk size come out with their hashes and the whole-file hash', async (_label, route, size) => {
    const url = serve(`/ok-${size}`, route);
    const source = openUrlSource(record(url, { file_size: size }), options);
    const parts = await collect(source);
    expect(parts.map((p) => [p.index, p.offset, p.size])).toEqual([
      [0, 0, CHUNK],
      [1, CHUNK, CHUNK],
      [2, 2 * CHUNK, CHUNK],
      [3, 3 * CHUNK, 12_345],
    ]);
    for (const p of parts) expect(p.sha256).toBe(sha(DATA.subarray(p.offset, p.offset + p.size)));
    expect(source.wholeFileSha256()).toBe(SHA);
  });

  it('GIVEN a body shorter than its Content-Length THEN it fails with a note naming both sizes', async () => {
    const url = serve('/short', { contentLength: DATA.length + 1000 });
    const error = await collect(openUrlSource(record(url, { file_size: DATA.length + 1000 }), options)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UrlSourceError);
    expect((error as Error).message).toMatch(new RegExp(`after ${DATA.length} of the announced ${DATA.length + 1000} bytes`));
  });

  it('GIVEN a body longer than its Content-Length THEN it fails with a note', async () => {
    const url = serve('/long', { contentLength: DATA.length - 5000 });
    const error = await collect(openUrlSource(record(url, { file_size: DATA.length - 5000 }), options)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UrlSourceError);
    expect((error as Error).message).toMatch(/more bytes than its Content-Length of \d+/);
  });

  it('GIVEN a chunked body that grows past MAX_FILE_SIZE_BYTES THEN it stops there with a note', async () => {
    const url = serve('/growing', { chunked: true });
    const source = openUrlSource(record(url, { file_size: null }), { ...options, maxFileSize: 2 * CHUNK + 10 });
    const seen: number[] = [];
    const error = await (async () => {
      for await (const p of source) seen.push(p.index);
    })().catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/more than this bot's limit of \d+ bytes \(MAX_FILE_SIZE_BYTES\)/);
    expect(seen).toEqual([0, 1]);
  });

  it('GIVEN a Content-Length above MAX_FILE_SIZE_BYTES THEN it fails before reading', async () => {
    const url = serve('/big', {});
    await expect(collect(openUrlSource(record(url), { ...options, maxFileSize: 1000 }))).rejects.toThrow(/above this bot's limit of 1000 bytes/);
  });

  it('GIVEN a connection dropped mid-body by a server with Range support THEN it continues with a Range request', async () => {
    const url = serve('/drop', { ranges: true, etag: '"d1"', drop: { afterBytes: CHUNK + 999, times: 1 } });
    const source = openUrlSource(record(url, { etag: '"d1"', accepts_ranges: true }), options);
    const parts = await collect(source);
    expect(parts).toHaveLength(4);
    expect(source.wholeFileSha256()).toBe(SHA);
    const gets = srv.requests.filter((r) => r.path === '/drop');
    expect(gets.map((r) => r.headers.range)).toEqual([undefined, `bytes=${CHUNK + 999}-`]);
    expect(gets[1]?.headers['if-range']).toBe('"d1"');
  });

  it('GIVEN a connection dropped by a server without Range support THEN it fails with a note', async () => {
    const url = serve('/drop-norange', { drop: { afterBytes: 1000, times: 1 } });
    await expect(collect(openUrlSource(record(url), options))).rejects.toThrow(/broke after 1000 of the announced \d+ bytes/);
  });

  it('GIVEN a server that goes silent mid-body THEN the read fails once a low-speed window passes with too few bytes', async () => {
    const url = serve('/stall', { throttle: { bytes: 1000, pauseMs: 5_000 } });
    const source = openUrlSource(record(url), { ...options, minBytesPerSecond: 1, lowSpeedWindowMs: 200 });
    await expect(collect(source)).rejects.toThrow(
      /broke after 1000 of the announced \d+ bytes: the server sent 0 bytes in 0\.2 s, below the minimum of 1 bytes\/s \(URL_MIN_BYTES_PER_SECOND\)/,
    );
  });

  it('GIVEN a server that trickles its body THEN the read fails with a low-speed note', async () => {
    const url = serve('/trickle', { data: DATA.subarray(0, 5000), throttle: { bytes: 100, pauseMs: 50 } });
    const source = openUrlSource(record(url, { file_size: 5000 }), { ...options, minBytesPerSecond: 100_000, lowSpeedWindowMs: 300 });
    const error = await collect(source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UrlSourceError);
    expect((error as Error).message).toMatch(
      /broke after \d+ of the announced 5000 bytes: the server sent \d+ bytes in 0\.3 s, below the minimum of 100000 bytes\/s/,
    );
    expect((error as Error).cause).toBeInstanceOf(LowSpeedError);
  });

  it('GIVEN a trickling server with Range support THEN the download is picked up once with a Range request, then fails', async () => {
    const url = serve('/trickle-ranges', { data: DATA.subarray(0, 5000), ranges: true, etag: '"t1"', throttle: { bytes: 100, pauseMs: 50 } });
    const source = openUrlSource(record(url, { file_size: 5000, etag: '"t1"', accepts_ranges: true }), {
      ...options,
      minBytesPerSecond: 100_000,
      lowSpeedWindowMs: 300,
    });
    await expect(collect(source)).rejects.toThrow(/below the minimum of 100000 bytes\/s/);
    const gets = srv.requests.filter((r) => r.path === '/trickle-ranges');
    expect(gets).toHaveLength(2);
    expect(gets[0]?.headers.range).toBeUndefined();
    expect(gets[1]?.headers.range).toMatch(/^bytes=[1-9]\d*-$/);
  });

  it('GIVEN a consumer slower than the low-speed window between parts THEN that pause does not count against the server', async () => {
    const url = serve('/slow-consumer', {});
    const source = openUrlSource(record(url), { ...options, minBytesPerSecond: 64 * 1024, lowSpeedWindowMs: 100 });
    const sizes: number[] = [];
    for await (const p of source) {
      sizes.push(p.size);
      await new Promise((r) => setTimeout(r, 300)); // an upload in progress
    }
    expect(sizes).toEqual([CHUNK, CHUNK, CHUNK, 12_345]);
    expect(source.wholeFileSha256()).toBe(SHA);
  });

  describe('resume', () => {
    /** A first run's parts 0 and 1 as recorded, and the checkpoint after them. */
    async function firstRun(url: string) {
      const first = openUrlSource(record(url, { etag: '"r1"', accepts_ranges: true }), options);
      const parts = await collect(first);
      const checkpoint = first.checkpointAt(2 * CHUNK);
      expect(checkpoint).not.toBeNull();
      const recorded = parts.slice(0, 2).map((p) => ({
        index: p.index,
        name: `data.bin.part00${p.index + 1}`,
        offset: p.offset,
        size: p.size,
        sha256: p.sha256,
        message_id: 'm',
        attachment_id: `a${p.index}`,
      }));
      return { checkpoint: checkpoint!, recorded };
    }

    it('GIVEN a checkpoint after two confirmed parts THEN only the rest is downloaded, with Range and If-Range, and the whole hash is right', async () => {
      const url = serve('/resume', { ranges: true, etag: '"r1"' });
      const { checkpoint, recorded } = await firstRun(url);
      const before = srv.requests.length;
      const source = openUrlSource(record(url, { etag: '"r1"', accepts_ranges: true, parts: recorded, hash_checkpoint: checkpoint }), options);
      const parts = await collect(source);
      expect(parts.map((p) => [p.index, p.data?.length])).toEqual([
        [0, 0],
        [1, 0],
        [2, CHUNK],
        [3, 12_345],
      ]);
      expect(parts[0]?.sha256).toBe(recorded[0]?.sha256);
      expect(source.wholeFileSha256()).toBe(SHA);
      expect(source.startOffset).toBe(2 * CHUNK);
      expect(srv.requests.slice(before).map((r) => [r.headers.range, r.headers['if-range']])).toEqual([[`bytes=${2 * CHUNK}-`, '"r1"']]);
    });

    it('GIVEN the file changed since (new ETag) THEN the resume fails with "source changed"', async () => {
      const url = serve('/changed', { ranges: true, etag: '"r1"' });
      const { checkpoint, recorded } = await firstRun(url);
      serve('/changed', { ranges: true, etag: '"r2"', data: Buffer.from(DATA).fill(1, 0, 10) });
      const source = openUrlSource(record(url, { etag: '"r1"', accepts_ranges: true, parts: recorded, hash_checkpoint: checkpoint }), options);
      await expect(collect(source)).rejects.toThrow(/source changed: .*ETag "r1" → "r2"/);
    });

    it('GIVEN a server that stopped honouring Range THEN it reads from byte 0 again', async () => {
      const url = serve('/norange-now', { ranges: true, etag: '"r1"' });
      const { checkpoint, recorded } = await firstRun(url);
      serve('/norange-now', { etag: '"r1"' });
      const source = openUrlSource(record(url, { etag: '"r1"', accepts_ranges: true, parts: recorded, hash_checkpoint: checkpoint }), options);
      const parts = await collect(source);
      expect(parts.map((p) => p.data?.length)).toEqual([CHUNK, CHUNK, CHUNK, 12_345]);
      expect(parts[1]?.sha256).toBe(recorded[1]?.sha256);
      expect(source.wholeFileSha256()).toBe(SHA);
      expect(source.startOffset).toBe(0);
    });

    it('GIVEN the consumer stops while the confirmed parts are replayed THEN the response is closed, not left open', async () => {
      // Bigger than the socket buffers hold, so the server is still sending when the consumer stops.
      const big = seededBytes(64 * CHUNK, 9);
      const url = serve('/replay-stop', { data: big, ranges: true, etag: '"r1"' });
      const over = { etag: '"r1"', accepts_ranges: true, file_size: big.length };
      const first = openUrlSource(record(url, over), options);
      const parts = await collect(first);
      const recorded = parts.slice(0, 2).map((p) => ({
        index: p.index,
        name: `data.bin.part00${p.index + 1}`,
        offset: p.offset,
        size: p.size,
        sha256: p.sha256,
        message_id: 'm',
        attachment_id: `a${p.index}`,
      }));
      const checkpoint = first.checkpointAt(2 * CHUNK);
      const before = srv.requests.length;
      const source = openUrlSource(record(url, { ...over, parts: recorded, hash_checkpoint: checkpoint }), options);
      for await (const part of source) {
        expect(part.index).toBe(0);
        break;
      }
      const resumed = srv.requests.slice(before);
      expect(resumed.map((r) => r.headers.range)).toEqual([`bytes=${2 * CHUNK}-`]);
      for (let i = 0; i < 100 && !resumed[0]?.closed; i++) await new Promise((r) => setTimeout(r, 20));
      expect(resumed[0]?.closed).toBe(true);
    });

    it('GIVEN a checkpoint beyond the confirmed parts THEN it is not used', async () => {
      const url = serve('/ahead', { ranges: true, etag: '"r1"' });
      const { checkpoint, recorded } = await firstRun(url);
      const source = openUrlSource(
        record(url, { etag: '"r1"', accepts_ranges: true, parts: recorded.slice(0, 1), hash_checkpoint: checkpoint }),
        options,
      );
      await collect(source);
      expect(source.startOffset).toBe(0);
      expect(source.wholeFileSha256()).toBe(SHA);
    });
  });

  it('GIVEN an abort mid-download THEN iteration stops with the abort reason', async () => {
    const url = serve('/abort', { throttle: { bytes: 16 * 1024, pauseMs: 5 } });
    const controller = new AbortController();
    const source = openUrlSource(record(url), { ...options, signal: controller.signal });
    const error = await (async () => {
      for await (const p of source) if (p.index === 0) controller.abort(new Error('stop now'));
    })().catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/stop now|abort/i);
  });
});
