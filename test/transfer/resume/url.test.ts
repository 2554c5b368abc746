/** The orchestrator over a URL source: unknown sizes, and a resume that downloads only the rest. */
import { DEFAULTS } from '../../../src/config.js';
import { urlLimits } from '../../../src/transfer/url/speed.js';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { runTransfer, type TransferDeps } from '../../../src/transfer/orchestrator.js';
import { newTransferId } from '../../../src/transfer/plan.js';
import { urlRunHooks } from '../../../src/transfer/resume/url-checkpoints.js';
import { startHttpsServer, TEST_CA, type TestHttpsServer } from '../../support/https-server.js';
import { seededBytes } from '../../support/random-file.js';
import { captureLogger, FakeSink } from '../fakes.js';

const CHUNK = 16 * 1024; // bytes
const DATA = seededBytes(10 * CHUNK + 5, 3);
const SHA = createHash('sha256').update(DATA).digest('hex');

describe('runTransfer with a url source', () => {
  let srv: TestHttpsServer;
  beforeAll(async () => {
    srv = await startHttpsServer();
  });
  afterAll(async () => {
    await srv?.stop();
  });

  async function setup(path: string, size: number | null, etag: string | null, maxFileSize = 1000 * CHUNK) {
    const store = new MemoryStore();
    const transfer = await store.create({
      id: newTransferId(),
      source: { kind: 'url', url: `${srv.origin}${path}`, etag, last_modified: null, accepts_ranges: etag !== null, hash_checkpoint: null },
      file_name: 'remote.bin',
      file_size: size,
      chunk_size_bytes: CHUNK,
      total_chunks: size === null ? null : Math.ceil(size / CHUNK),
      owner_id: '1'.repeat(18),
      channel_id: '2'.repeat(18),
    });
    const { log } = captureLogger();
    const hooks = urlRunHooks({ store, log, options: { allowedHosts: ['localhost'], ca: TEST_CA, maxFileSize, ...urlLimits(DEFAULTS) } });
    const deps = (sink: FakeSink): TransferDeps => ({
      store,
      sink,
      log,
      openSource: hooks.openSource,
      onProgress: hooks.onProgress,
      config: { maxChunksPerMessage: 2, maxParallelUploads: 1, retryLimit: 0, backoffBaseMs: 0, maxFileSizeBytes: maxFileSize },
    });
    return { store, transfer, hooks, deps };
  }

  it('GIVEN no Content-Length THEN the size and part count are recorded at the end and names are padded for MAX_FILE_SIZE_BYTES', async () => {
    srv.routes.set('/unknown.bin', { kind: 'file', data: DATA, chunked: true });
    const { transfer, deps } = await setup('/unknown.bin', null, null);
    const sink = new FakeSink();
    const final = await runTransfer(deps(sink), transfer.id);
    expect(final.status, final.notes.join('; ')).toBe('complete');
    expect(final.file_size).toBe(DATA.length);
    expect(final.total_chunks).toBe(11);
    expect(final.file_sha256).toBe(SHA);
    // 1000 parts at most → 4 digits.
    expect(final.parts[0]?.name).toBe('remote.bin.part0001');
    expect(sink.manifests[0]?.file).toEqual({ name: 'remote.bin', size: DATA.length, sha256: SHA });
  });

  it('GIVEN a run stopped after some parts THEN the next run asks for the rest with Range and the manifest hash covers every byte', async () => {
    srv.routes.set('/ranged.bin', { kind: 'file', data: DATA, etag: '"x1"', ranges: true });
    const { store, transfer, hooks, deps } = await setup('/ranged.bin', DATA.length, '"x1"');
    const controller = new AbortController();
    const first = new FakeSink((call) => {
      if (call.indices.includes(4)) controller.abort(new Error('stop'));
    });
    const stopped = await runTransfer(deps(first), transfer.id, { signal: controller.signal, abortStatus: 'interrupted' });
    await hooks.flush();
    expect(stopped.status).toBe('interrupted');
    const checkpoint = store.get(transfer.id)!.source;
    // The batch in flight at the abort (parts 4 and 5) still settles and is recorded.
    expect(stopped.completed_chunks).toEqual([0, 1, 2, 3, 4, 5]);
    expect(checkpoint.kind === 'url' && checkpoint.hash_checkpoint?.offset).toBe(6 * CHUNK);

    const before = srv.requests.length;
    const second = new FakeSink();
    const final = await runTransfer(deps(second), transfer.id);
    expect(final.status, final.notes.join('; ')).toBe('complete');
    expect(srv.requests.slice(before).map((r) => r.headers.range)).toEqual([`bytes=${6 * CHUNK}-`]);
    expect(final.file_sha256).toBe(SHA);
    // Every part posted exactly once over both runs.
    const posted = [...first.posted, ...second.posted].map((p) => p.index).sort((a, b) => a - b);
    expect(posted).toEqual(Array.from({ length: 11 }, (_, i) => i));
  });
});
