import { DEFAULTS } from '../../src/config.js';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SinkError } from '../../src/errors.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { TransferRecord } from '../../src/store/schema.js';
import { openFileSource } from '../../src/transfer/file-source.js';
import { planFileTransfer } from '../../src/transfer/new-transfer.js';
import { runTransfer, type OrchestratorConfig, type TransferDeps } from '../../src/transfer/orchestrator.js';
import { MIB } from '../../src/transfer/plan.js';
import { writeSeededFile } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { abortable, captureLogger, deferred, FakeSink } from './fakes.js';

const CHUNK = 1024; // bytes

interface Setup {
  store: MemoryStore;
  transfer: TransferRecord;
  file: string;
  sha256: string;
}

async function setup(size: number, chunkSize = CHUNK, seed = 1): Promise<Setup> {
  const dir = await tempDir();
  const file = path.join(dir, 'movie file.bin');
  const sha256 = await writeSeededFile(file, size, seed);
  const store = new MemoryStore();
  const plan = await planFileTransfer({
    realPath: file,
    relPath: 'movies/movie file.bin',
    chunkSize,
    ownerId: '1'.repeat(18),
    channelId: '2'.repeat(18),
  });
  const transfer = await store.create(plan);
  return { store, transfer, file, sha256 };
}

function deps(store: MemoryStore, sink: FakeSink, config: Partial<OrchestratorConfig> = {}) {
  const logger = captureLogger();
  const delays: number[] = [];
  const d: TransferDeps = {
    store,
    sink,
    log: logger.log,
    config: {
      maxChunksPerMessage: 3,
      maxParallelUploads: 1,
      retryLimit: 5,
      backoffBaseMs: 100,
      maxFileSizeBytes: DEFAULTS.MAX_FILE_SIZE_BYTES,
      ...config,
    },
    random: () => 0.5,
    sleep: async (ms) => {
      delays.push(ms);
    },
  };
  return { deps: d, delays, ...logger };
}

const transient = () => new SinkError('503 Service Unavailable', 'transient', 'http_503');

describe('runTransfer', () => {
  it('GIVEN a healthy sink THEN packs parts per message, posts a manifest in part order, and completes', async () => {
    const { store, transfer, sha256 } = await setup(10 * CHUNK - 7);
    const sink = new FakeSink();
    const { deps: d, events } = deps(store, sink);
    const final = await runTransfer(d, transfer.id);

    expect(final.status).toBe('complete');
    expect(sink.calls.map((c) => c.indices)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    expect(sink.calls.map((c) => c.nonce)).toEqual([0, 3, 6, 9].map((i) => `${transfer.id.slice(7)}.${i}`));
    expect(sink.calls.every((c) => c.nonce.length <= 25)).toBe(true);
    expect(final.file_sha256).toBe(sha256);
    expect(final.completed_chunks).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(final.bytes_done).toBe(10 * CHUNK - 7);
    expect(final.manifest_message_id).toBe('manifest-msg');
    expect(final.started_at).not.toBeNull();
    expect(final.completed_at).not.toBeNull();
    expect(Object.values(final.chunk_attempts)).toEqual(Array(10).fill(1));

    const manifest = sink.manifests[0]!;
    expect(sink.manifests).toHaveLength(1);
    expect(manifest.file).toEqual({ name: 'movie_file.bin', size: 10 * CHUNK - 7, sha256 });
    expect(manifest.chunks.map((c) => c.name)).toEqual(Array.from({ length: 10 }, (_, i) => `movie_file.bin.part${String(i + 1).padStart(3, '0')}`));
    expect(manifest.chunks.at(-1)!.size).toBe(CHUNK - 7);
    expect(manifest.transfer_id).toBe(transfer.id);

    expect(events('transfer_started')).toHaveLength(1);
    expect(events('chunk_ok').map((l) => l.chunk)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(events('transfer_complete')).toHaveLength(1);
  });

  it('GIVEN transient failures then success THEN retries with backoff, counts attempts, and records each part once', async () => {
    const { store, transfer } = await setup(6 * CHUNK);
    const sink = new FakeSink((call) => {
      if (call.indices[0] === 3 && call.attempt <= 2) throw transient();
    });
    const { deps: d, events, delays } = deps(store, sink);
    const final = await runTransfer(d, transfer.id);

    expect(final.status).toBe('complete');
    expect(final.chunk_attempts).toEqual({ '0': 1, '1': 1, '2': 1, '3': 3, '4': 3, '5': 3 });
    expect(final.retries).toBe(2);
    expect(final.parts.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sink.calls.filter((c) => c.indices[0] === 3).map((c) => [c.attempt, c.nonce])).toEqual([
      [1, `${transfer.id.slice(7)}.3`],
      [2, `${transfer.id.slice(7)}.3`],
      [3, `${transfer.id.slice(7)}.3`],
    ]);
    // Full jitter with random() = 0.5: half of base × 2^(n−1).
    expect(delays).toEqual([50, 100]);
    const retries = events('chunk_retry');
    expect(retries.map((l) => [l.chunk, l.attempt, l.reason])).toEqual([
      [3, 1, 'http_503'],
      [4, 1, 'http_503'],
      [5, 1, 'http_503'],
      [3, 2, 'http_503'],
      [4, 2, 'http_503'],
      [5, 2, 'http_503'],
    ]);
    expect(retries.every((l) => l.transfer_id === transfer.id)).toBe(true);
  });

  it('GIVEN a part that keeps failing THEN stops after RETRY_LIMIT retries with status error, keeping the note and posted parts', async () => {
    const { store, transfer } = await setup(9 * CHUNK);
    const sink = new FakeSink((call) => {
      if (call.indices[0] === 3) throw transient();
    });
    const { deps: d, events } = deps(store, sink, { retryLimit: 2 });
    const final = await runTransfer(d, transfer.id);

    expect(final.status).toBe('error');
    expect(sink.calls.filter((c) => c.indices[0] === 3)).toHaveLength(3);
    expect(sink.calls.some((c) => c.indices[0] === 6)).toBe(false);
    expect(final.parts.map((p) => p.index)).toEqual([0, 1, 2]);
    expect(final.chunk_attempts['3']).toBe(3);
    expect(final.chunk_attempts['5']).toBe(3);
    expect(final.retries).toBe(2);
    expect(final.notes.join('\n')).toMatch(/gave up after 3 attempt/);
    expect(final.manifest_message_id).toBeNull();
    expect(sink.manifests).toHaveLength(0);
    expect(events('transfer_error')).toHaveLength(1);
  });

  it('GIVEN a fatal sink error THEN no retry and status error with the message in a note', async () => {
    const { store, transfer } = await setup(4 * CHUNK);
    const sink = new FakeSink((call) => {
      if (call.indices[0] === 3) throw new SinkError('Missing Permissions', 'fatal', 'discord_50013');
    });
    const { deps: d } = deps(store, sink);
    const final = await runTransfer(d, transfer.id);
    expect(final.status).toBe('error');
    expect(sink.calls.filter((c) => c.indices[0] === 3)).toHaveLength(1);
    expect(final.notes.at(-1)).toMatch(/Missing Permissions/);
    expect(final.parts).toHaveLength(3);
  });

  it('GIVEN the sink refuses a part as too large THEN no retry and the note names the part size', async () => {
    const { store, transfer } = await setup(2 * CHUNK + 100);
    const sink = new FakeSink((call) => {
      if (call.indices.includes(2)) throw new SinkError('Request entity too large (limit 10 MiB)', 'too_large', 'http_413');
    });
    const { deps: d } = deps(store, sink, { maxChunksPerMessage: 1 });
    const final = await runTransfer(d, transfer.id);
    expect(final.status).toBe('error');
    expect(sink.calls.filter((c) => c.indices.includes(2))).toHaveLength(1);
    expect(final.notes.at(-1)).toMatch(/part003 \(100 bytes\)/);
    expect(final.notes.at(-1)).toMatch(/limit 10 MiB/);
    expect(final.chunk_attempts['2']).toBe(1);
    expect(final.parts.map((p) => p.index)).toEqual([0, 1]);
  });

  it('GIVEN a cancel in the middle THEN the in-flight send settles, nothing more is sent, and status is cancelled', async () => {
    const { store, transfer } = await setup(8 * CHUNK);
    const controller = new AbortController();
    const hold = deferred();
    const sink = new FakeSink(async (call, signal) => {
      if (call.indices[0] === 2) {
        controller.abort();
        await abortable(hold.promise, signal).catch(() => {
          throw new SinkError('aborted', 'aborted', 'aborted');
        });
      }
    });
    const { deps: d, events } = deps(store, sink, { maxChunksPerMessage: 2 });
    const final = await runTransfer(d, transfer.id, { signal: controller.signal });

    expect(final.status).toBe('cancelled');
    expect(sink.calls.map((c) => c.indices[0])).toEqual([0, 2]);
    expect(final.parts.map((p) => p.index)).toEqual([0, 1]);
    expect(sink.manifests).toHaveLength(0);
    expect(events('transfer_cancelled')).toHaveLength(1);
  });

  it('GIVEN an abort whose in-flight send still succeeds THEN that part is recorded and the caller-chosen status is used', async () => {
    const { store, transfer } = await setup(6 * CHUNK);
    const controller = new AbortController();
    let status: 'cancelled' | 'interrupted' = 'cancelled';
    const sink = new FakeSink((call) => {
      if (call.indices[0] === 1) {
        status = 'interrupted';
        controller.abort();
      }
    });
    const { deps: d } = deps(store, sink, { maxChunksPerMessage: 1 });
    const final = await runTransfer(d, transfer.id, { signal: controller.signal, abortStatus: () => status });
    expect(final.status).toBe('interrupted');
    expect(final.parts.map((p) => p.index)).toEqual([0, 1]);
    expect(sink.calls).toHaveLength(2);
  });

  it('GIVEN a transfer interrupted by a crash THEN resume sends only the missing parts and completes in order', async () => {
    const { store: first, transfer, file, sha256 } = await setup(7 * CHUNK + 3);
    const failing = new FakeSink((call) => {
      if (call.indices[0]! >= 4) throw new SinkError('gone', 'fatal', 'test');
    });
    const { deps: d1 } = deps(first, failing, { maxChunksPerMessage: 2 });
    const broken = await runTransfer(d1, transfer.id);
    expect(broken.parts.map((p) => p.index)).toEqual([0, 1, 2, 3]);

    // What start-up finds after a crash: the same record, left interrupted.
    const store = new MemoryStore([{ ...broken, status: 'interrupted' }]);
    const sink = new FakeSink();
    const { deps: d2, events } = deps(store, sink, { maxChunksPerMessage: 2 });
    const final = await runTransfer(d2, transfer.id);

    expect(final.status).toBe('complete');
    expect(sink.calls.map((c) => c.indices)).toEqual([
      [4, 5],
      [6, 7],
    ]);
    expect(final.file_sha256).toBe(sha256);
    const manifest = sink.manifests[0]!;
    expect(manifest.chunks.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(manifest.chunks.slice(0, 4).map((c) => c.message_id)).toEqual(broken.parts.map((p) => p.message_id));
    expect(events('transfer_started')[0]!.resumed).toBe(true);
    expect((await readFile(file)).length).toBe(7 * CHUNK + 3);
  });

  it('GIVEN a sink that reconciles THEN a missing part is sent again and a found one is recorded with its channel, not re-sent', async () => {
    const { store: first, transfer } = await setup(6 * CHUNK);
    const failing = new FakeSink((call) => {
      if (call.indices[0]! >= 3) throw new SinkError('gone', 'fatal', 'test');
    });
    const broken = await runTransfer(deps(first, failing, { maxChunksPerMessage: 1 }).deps, transfer.id);
    expect(broken.parts.map((p) => p.index)).toEqual([0, 1, 2]);

    const store = new MemoryStore([{ ...broken, status: 'interrupted' }]);
    const sink = new FakeSink();
    sink.reconcile = async () => ({
      missing: [1],
      found: [{ index: 3, channel_id: 'thread-ch', message_id: 'found-msg', attachment_id: 'found-att' }],
    });
    const final = await runTransfer(deps(store, sink, { maxChunksPerMessage: 1 }).deps, transfer.id);

    expect(final.status).toBe('complete');
    expect(sink.calls.map((c) => c.indices)).toEqual([[1], [4], [5]]);
    expect(final.parts.find((p) => p.index === 3)).toMatchObject({ message_id: 'found-msg', channel_id: 'thread-ch' });
    expect(sink.manifests[0]!.chunks.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5]);
    // Each part's channel is in the manifest: the found one's thread, the others the transfer's channel.
    expect(sink.manifests[0]!.chunks.map((c) => c.channel_id)).toEqual([0, 1, 2, 3, 4, 5].map((i) => (i === 3 ? 'thread-ch' : transfer.channel_id)));
    expect(final.notes.join('\n')).toMatch(/part002/);
  });

  it('GIVEN the source file changed size since it was planned THEN error before any send', async () => {
    const { store, transfer, file } = await setup(3 * CHUNK);
    await writeFile(file, Buffer.alloc(3 * CHUNK + 1));
    const sink = new FakeSink();
    const final = await runTransfer(deps(store, sink).deps, transfer.id);
    expect(final.status).toBe('error');
    expect(final.notes.at(-1)).toMatch(/source changed: .*size 3072 → 3073/);
    expect(sink.calls).toHaveLength(0);
  });

  it('GIVEN the source file was touched (mtime) THEN error with a note', async () => {
    const { store, transfer, file } = await setup(3 * CHUNK);
    await utimes(file, new Date(), new Date(Date.now() + 60_000));
    const final = await runTransfer(deps(store, new FakeSink()).deps, transfer.id);
    expect(final.status).toBe('error');
    expect(final.notes.at(-1)).toMatch(/source changed: .*modified/);
  });

  it('GIVEN a resume whose posted part no longer matches the source (same size and mtime) THEN error, never a mixed file', async () => {
    const { store: first, transfer, file } = await setup(4 * CHUNK);
    // A whole-second mtime survives utimes exactly, so only the content differs.
    const planned = new Date(1_700_000_000_000);
    await utimes(file, planned, planned);
    await first.update(transfer.id, (d) => {
      if (d.source.kind === 'file') d.source.mtime_ms = planned.getTime();
    });
    const failing = new FakeSink((call) => {
      if (call.indices[0]! >= 2) throw new SinkError('gone', 'fatal', 'test');
    });
    const broken = await runTransfer(deps(first, failing, { maxChunksPerMessage: 1 }).deps, transfer.id);
    const bytes = await readFile(file);
    bytes[CHUNK + 5] = bytes[CHUNK + 5]! ^ 0xff;
    await writeFile(file, bytes);
    await utimes(file, planned, planned);
    expect((await stat(file)).mtimeMs).toBe(planned.getTime());

    const sink = new FakeSink();
    const final = await runTransfer(deps(new MemoryStore([broken]), sink, { maxChunksPerMessage: 1 }).deps, transfer.id);
    expect(final.status).toBe('error');
    expect(final.notes.at(-1)).toMatch(/source changed: part 1 differs/);
    expect(sink.manifests).toHaveLength(0);
    expect(final.parts.map((p) => p.index)).toEqual([0, 1]);
  });

  it('GIVEN MAX_PARALLEL_UPLOADS = 3 THEN at most 3 sends are in flight, more than one at times, and the manifest stays in order', async () => {
    const { store, transfer } = await setup(24 * CHUNK);
    // Uneven delays so batches finish out of order.
    const sink = new FakeSink((call) => new Promise((r) => setTimeout(r, [6, 1, 3][call.indices[0]! % 3])));
    const final = await runTransfer(deps(store, sink, { maxChunksPerMessage: 1, maxParallelUploads: 3 }).deps, transfer.id);
    expect(final.status).toBe('complete');
    expect(sink.maxInFlight).toBeLessThanOrEqual(3);
    expect(sink.maxInFlight).toBeGreaterThan(1);
    expect(sink.calls).toHaveLength(24);
    expect(sink.manifests[0]!.chunks.map((c) => c.index)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(final.parts.map((p) => p.index)).toEqual(Array.from({ length: 24 }, (_, i) => i));
  });

  it('GIVEN a slow sink THEN the reader pauses (backpressure) instead of reading ahead', async () => {
    const { store, transfer } = await setup(20 * CHUNK);
    let yielded = 0;
    let yieldedWhileHeld = 0;
    const hold = deferred();
    const sink = new FakeSink(async (call) => {
      if (call.indices[0] === 0) {
        // Let the reader run as far as it will while the first message is stuck.
        for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
        yieldedWhileHeld = yielded;
        hold.resolve();
      }
      await hold.promise;
    });
    const { deps: d } = deps(store, sink, { maxChunksPerMessage: 1, maxParallelUploads: 1 });
    d.openSource = (t, signal) => {
      const inner = openFileSource(t, signal);
      return {
        wholeFileSha256: () => inner.wholeFileSha256(),
        async *[Symbol.asyncIterator]() {
          for await (const part of inner) {
            yielded++;
            yield part;
          }
        },
      };
    };
    const final = await runTransfer(d, transfer.id);
    expect(final.status).toBe('complete');
    // One part in flight, one waiting for a slot, one just read: (parallel + 1) batches + 1 part.
    expect(yieldedWhileHeld).toBeLessThanOrEqual(3);
    expect(yielded).toBe(20);
  });

  it('GIVEN MAX_PARALLEL_UPLOADS = 1 THEN sends never overlap', async () => {
    const { store, transfer } = await setup(6 * CHUNK);
    const sink = new FakeSink(() => new Promise((r) => setTimeout(r, 1)));
    await runTransfer(deps(store, sink, { maxChunksPerMessage: 1, maxParallelUploads: 1 }).deps, transfer.id);
    expect(sink.maxInFlight).toBe(1);
  });

  it('GIVEN 10 MiB parts THEN a message carries at most 25 MiB of them', async () => {
    const { store, transfer } = await setup(30 * MIB + 1, 10 * MIB);
    const sink = new FakeSink();
    const final = await runTransfer(deps(store, sink, { maxChunksPerMessage: 3 }).deps, transfer.id);
    expect(final.status).toBe('complete');
    expect(sink.calls.map((c) => c.indices)).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(sink.calls.every((c) => c.sizes.reduce((a, b) => a + b, 0) <= 25 * MIB)).toBe(true);
  });

  it('GIVEN a failing manifest post THEN status error and the parts stay recorded', async () => {
    const { store, transfer } = await setup(2 * CHUNK);
    const sink = new FakeSink();
    sink.sendManifest = async () => {
      throw new SinkError('boom', 'fatal', 'test');
    };
    const final = await runTransfer(deps(store, sink).deps, transfer.id);
    expect(final.status).toBe('error');
    expect(final.notes.at(-1)).toMatch(/manifest/);
    expect(final.parts).toHaveLength(2);
  });

  it('GIVEN a finished transfer THEN it refuses to run again', async () => {
    const { store, transfer } = await setup(CHUNK);
    await runTransfer(deps(store, new FakeSink()).deps, transfer.id);
    await expect(runTransfer(deps(store, new FakeSink()).deps, transfer.id)).rejects.toThrow(/complete/);
  });
});
