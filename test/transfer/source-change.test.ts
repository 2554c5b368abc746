/**
 * Parts travel as file-backed Blob slices read while they are sent, so the bytes sent could
 * differ from the bytes hashed if the source changes meanwhile. These tests change the file
 * at the worst moments and expect a clear `source changed` error, never a mixed upload.
 */
import { DEFAULTS } from '../../src/config.js';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, truncate, utimes } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { TransferRecord } from '../../src/store/schema.js';
import { LocalSink } from '../../src/transfer/local-sink.js';
import { openFileSource, type OpenSource } from '../../src/transfer/file-source.js';
import { planFileTransfer } from '../../src/transfer/new-transfer.js';
import { runTransfer } from '../../src/transfer/orchestrator.js';
import type { OutgoingPart, SendOptions } from '../../src/transfer/sink.js';
import { writeSeededFile } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { captureLogger } from './fakes.js';

const CHUNK = 4096; // bytes

/** Rewrites the file with other bytes of the same size and an mtime surely not the planned one. */
async function rewrite(file: string, size: number): Promise<void> {
  await writeSeededFile(file, size, 999);
  await utimes(file, new Date(), new Date(Date.now() + 10_000));
}

/** `relPath` is the file's path relative to FILES_ROOT (`<dir>/files`), as a user gave it. */
async function setup(size: number, relPath = 'src.bin') {
  const dir = await tempDir();
  const file = path.join(dir, 'files', relPath);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(path.dirname(file), { recursive: true });
  await writeSeededFile(file, size, 5);
  const out = path.join(dir, 'out');
  await mkdir(out);
  const store = new MemoryStore();
  const transfer = await store.create(await planFileTransfer({ realPath: file, relPath, chunkSize: CHUNK, ownerId: '1', channelId: '2' }));
  return { dir, file, out, store, transfer };
}

/** A LocalSink (it reads each part's Blob while writing it) with a hook before or after each send. */
class HookedSink extends LocalSink {
  constructor(
    dir: string,
    private readonly hook: (first: number, when: 'before' | 'after') => Promise<void>,
  ) {
    super(dir);
  }

  override async sendParts(t: TransferRecord, parts: OutgoingPart[], options: SendOptions) {
    await this.hook(parts[0]!.index, 'before');
    const posted = await super.sendParts(t, parts, options);
    await this.hook(parts[0]!.index, 'after');
    return posted;
  }
}

const config = { maxChunksPerMessage: 1, maxParallelUploads: 1, retryLimit: 3, backoffBaseMs: 1, maxFileSizeBytes: DEFAULTS.MAX_FILE_SIZE_BYTES };

describe('a source that changes during a transfer', () => {
  it('GIVEN the file is rewritten after part 0 was sent THEN the next send fails, the transfer ends error with a source-changed note, and no part holds new bytes', async () => {
    const { file, out, store, transfer } = await setup(4 * CHUNK);
    const original = await readFile(file);
    const sink = new HookedSink(out, async (first, when) => {
      if (first === 0 && when === 'after') await rewrite(file, 4 * CHUNK);
    });
    const final = await runTransfer({ store, sink, log: captureLogger().log, config, sleep: async () => {} }, transfer.id);
    expect(final.status).toBe('error');
    expect(final.notes.at(-1)).toMatch(/^source changed: .*src\.bin was modified while it was sent/);
    // Not retried: the same bytes can never come back.
    expect(final.retries).toBe(0);
    expect(final.completed_chunks.length).toBeLessThanOrEqual(2);
    // Every part written holds the bytes that were hashed for it, from the original file.
    for (const part of final.parts) {
      const written = await readFile(path.join(out, part.name));
      expect(createHash('sha256').update(written).digest('hex')).toBe(part.sha256);
      expect(written.equals(original.subarray(part.offset, part.offset + part.size))).toBe(true);
    }
    expect((await readdir(out)).some((n) => n.endsWith('.manifest.json'))).toBe(false);
  });

  it('GIVEN the file changes after the last part was sent THEN the manifest is not posted and the transfer ends error', async () => {
    const { file, out, store, transfer } = await setup(2 * CHUNK + 1);
    const sink = new HookedSink(out, async (first, when) => {
      if (first === 2 && when === 'after') await rewrite(file, 2 * CHUNK + 1);
    });
    const final = await runTransfer({ store, sink, log: captureLogger().log, config, sleep: async () => {} }, transfer.id);
    expect(final.status).toBe('error');
    expect(final.notes.at(-1)).toMatch(/^source changed/);
    expect(final.parts).toHaveLength(3);
    expect((await readdir(out)).some((n) => n.endsWith('.manifest.json'))).toBe(false);
  });

  describe('notes name the file relative to FILES_ROOT, never by its path on the host', () => {
    it('GIVEN the file is truncated after part 0 THEN the source-changed note names mods/src.bin only', async () => {
      const { dir, file, out, store, transfer } = await setup(4 * CHUNK, 'mods/src.bin');
      const sink = new HookedSink(out, async (first, when) => {
        if (first === 0 && when === 'after') await truncate(file, CHUNK + 10);
      });
      const final = await runTransfer({ store, sink, log: captureLogger().log, config, sleep: async () => {} }, transfer.id);
      expect(final.status).toBe('error');
      expect(final.notes.at(-1)).toMatch(/^source changed: .*\bmods\/src\.bin\b/);
      expect(final.notes.join('\n')).not.toContain(dir);
    });

    it('GIVEN the file is deleted after part 0 THEN the transfer ends error as a changed source, and the note says it is gone', async () => {
      const { dir, file, out, store, transfer } = await setup(4 * CHUNK, 'mods/src.bin');
      const sink = new HookedSink(out, async (first, when) => {
        if (first === 0 && when === 'after') await rm(file);
      });
      const final = await runTransfer({ store, sink, log: captureLogger().log, config, sleep: async () => {} }, transfer.id);
      expect(final.status).toBe('error');
      expect(final.notes.at(-1)).toMatch(/^source changed: .*mods\/src\.bin no longer exists/);
      expect(final.notes.join('\n')).not.toContain(dir);
      expect(final.retries).toBe(0);
    });

    it('GIVEN the file was deleted before the run THEN the note says it no longer exists', async () => {
      const { dir, file, out, store, transfer } = await setup(2 * CHUNK, 'mods/src.bin');
      await rm(file);
      const final = await runTransfer({ store, sink: new LocalSink(out), log: captureLogger().log, config }, transfer.id);
      expect(final.status).toBe('error');
      expect(final.notes.at(-1)).toBe('source changed: mods/src.bin no longer exists');
      expect(final.notes.join('\n')).not.toContain(dir);
    });

    it('GIVEN the file is deleted while the reader opens it THEN the note says it no longer exists', async () => {
      const { dir, file, out, store, transfer } = await setup(2 * CHUNK, 'mods/src.bin');
      // Past the pre-run check: the reader is the first to find the file gone.
      const openSource: OpenSource = (t, signal) => {
        const source = openFileSource(t, signal);
        return {
          wholeFileSha256: () => source.wholeFileSha256(),
          async *[Symbol.asyncIterator]() {
            await rm(file);
            yield* source;
          },
        };
      };
      const final = await runTransfer({ store, sink: new LocalSink(out), openSource, log: captureLogger().log, config }, transfer.id);
      expect(final.status).toBe('error');
      expect(final.notes.at(-1)).toMatch(/^source changed: mods\/src\.bin no longer exists/);
      expect(final.notes.join('\n')).not.toContain(dir);
    });
  });

  it('GIVEN the file changed between planning and the run THEN nothing is sent', async () => {
    const { file, out, store, transfer } = await setup(2 * CHUNK);
    await rewrite(file, 2 * CHUNK);
    const final = await runTransfer({ store, sink: new LocalSink(out), log: captureLogger().log, config }, transfer.id);
    expect(final.status).toBe('error');
    expect(final.notes.at(-1)).toMatch(/^source changed/);
    expect(await readdir(out)).toEqual([]);
  });
});
