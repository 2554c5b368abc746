import { DEFAULTS } from '../../src/config.js';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encryptedSize } from '../../src/crypto/age.js';
import { SinkError } from '../../src/errors.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { readParts, type PartSource, type SourcePart } from '../../src/transfer/chunker.js';
import { LOCAL_ID, LocalSink } from '../../src/transfer/local-sink.js';
import { parseManifest } from '../../src/transfer/manifest.js';
import { planFileTransfer } from '../../src/transfer/new-transfer.js';
import { runTransfer } from '../../src/transfer/orchestrator.js';
import type { OutgoingPart } from '../../src/transfer/sink.js';
import { seededBytes, writeSeededFile } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { tmpfsForTest } from '../support/tmpfs.js';
import { captureLogger } from './fakes.js';

const part = (index: number, text: string): OutgoingPart => {
  const data = Buffer.from(text);
  return { index, name: `f.bin.part00${index + 1}`, offset: 0, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), data };
};

async function collectParts(source: PartSource): Promise<SourcePart[]> {
  const parts: SourcePart[] = [];
  for await (const p of source) parts.push(p);
  return parts;
}

describe('LocalSink', () => {
  it('GIVEN parts THEN each is written under its name with no temp file left', async () => {
    const dir = await tempDir();
    const sink = new LocalSink(dir);
    const posted = await sink.sendParts({} as never, [part(0, 'abc'), part(1, 'de')], {
      signal: new AbortController().signal,
      nonce: 'n',
      attempt: 1,
    });
    expect(posted).toEqual([
      { index: 0, message_id: LOCAL_ID, attachment_id: LOCAL_ID },
      { index: 1, message_id: LOCAL_ID, attachment_id: LOCAL_ID },
    ]);
    expect((await readdir(dir)).sort()).toEqual(['f.bin.part001', 'f.bin.part002']);
    expect(await readFile(path.join(dir, 'f.bin.part002'), 'utf8')).toBe('de');
  });

  it('GIVEN an aborted signal THEN nothing is written and the error is aborted', async () => {
    const dir = await tempDir();
    const controller = new AbortController();
    controller.abort();
    const err = await new LocalSink(dir)
      .sendParts({} as never, [part(0, 'x')], { signal: controller.signal, nonce: 'n', attempt: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).kind).toBe('aborted');
    expect(await readdir(dir)).toEqual([]);
  });

  it('GIVEN a part name with a path in it THEN refused as fatal', async () => {
    const dir = await tempDir();
    const bad = { ...part(0, 'x'), name: '../escape' };
    const err = await new LocalSink(dir)
      .sendParts({} as never, [bad], { signal: new AbortController().signal, nonce: 'n', attempt: 1 })
      .catch((e: unknown) => e);
    expect((err as SinkError).kind).toBe('fatal');
  });

  it.each([
    ['a plain', 3000],
    ["an encrypted (checked by its chunks' tags)", 200_000],
  ] as const)(
    'GIVEN %s file-backed part whose bytes no longer match its hash (same size and mtime) THEN it is refused as a changed source and nothing is left in the directory',
    async (kind, size) => {
      const dir = await tempDir();
      const file = path.join(dir, 'in.bin');
      await writeSeededFile(file, size, 4);
      // A whole-second mtime, so it can be put back exactly after the change.
      const mtime = new Date('2024-06-01T12:00:00.000Z');
      await utimes(file, mtime, mtime);
      const sealed =
        kind === 'a plain'
          ? undefined
          : { keys: { prefix: Buffer.from('age-encryption.org/v1\n--- x\n0123456789abcdef'), payloadKey: randomBytes(32) }, plainSize: size };
      const total = sealed ? encryptedSize(sealed.keys.prefix.length, size) : size;
      const [first] = await collectParts(readParts(file, { chunkSize: total, fileSize: total, keepData: false, name: 'in.bin', sealed }));
      expect(first!.file!.tag === undefined).toBe(kind === 'a plain');
      const before = await stat(file);
      const handle = await open(file, 'r+');
      await handle.write(Buffer.from('changed'), 0, 7, size - 100);
      await handle.close();
      await utimes(file, mtime, mtime);
      expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);

      const out = path.join(dir, 'out');
      await mkdir(out);
      const outgoing: OutgoingPart = { index: 0, name: 'in.bin.part001', offset: 0, size: total, sha256: first!.sha256, file: first!.file };
      const err = await new LocalSink(out)
        .sendParts({} as never, [outgoing], { signal: new AbortController().signal, nonce: 'n', attempt: 1 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkError);
      expect((err as SinkError).reason).toBe('source_changed');
      expect(await readdir(out)).toEqual([]);
    },
  );

  it('GIVEN an output directory on a 2 MiB tmpfs AND a part that does not fit THEN a fatal ENOSPC SinkError, the earlier part intact and no temp file left', async (context) => {
    const disk = await tmpfsForTest(context, 2 * 1024 * 1024);
    const big = (index: number, seed: number): OutgoingPart => {
      const data = seededBytes(1_200_000, seed);
      return { index, name: `f.bin.part00${index + 1}`, offset: 0, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), data };
    };
    const first = big(0, 1);
    const err = await new LocalSink(disk)
      .sendParts({} as never, [first, big(1, 2)], { signal: new AbortController().signal, nonce: 'n', attempt: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect(err).toMatchObject({ kind: 'fatal', reason: 'ENOSPC' });
    expect((err as SinkError).message).toContain('f.bin.part002');
    expect(await readdir(disk)).toEqual(['f.bin.part001']);
    expect((await readFile(path.join(disk, 'f.bin.part001'))).equals(first.data!)).toBe(true);
  });

  it('GIVEN a whole transfer through the orchestrator THEN the manifest on disk is valid with null ids', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'in.bin');
    const sha256 = await writeSeededFile(file, 2500, 3);
    const out = path.join(dir, 'out');
    await mkdir(out);
    const store = new MemoryStore();
    const t = await store.create(
      await planFileTransfer({ realPath: file, relPath: 'in.bin', chunkSize: 1000, ownerId: 'local', channelId: 'local' }),
    );
    const final = await runTransfer(
      {
        store,
        sink: new LocalSink(out),
        log: captureLogger().log,
        config: { maxChunksPerMessage: 2, maxParallelUploads: 1, retryLimit: 0, backoffBaseMs: 1, maxFileSizeBytes: DEFAULTS.MAX_FILE_SIZE_BYTES },
      },
      t.id,
    );
    expect(final.status).toBe('complete');
    const manifest = parseManifest(JSON.parse(await readFile(path.join(out, 'in.bin.manifest.json'), 'utf8')));
    expect(manifest.file).toEqual({ name: 'in.bin', size: 2500, sha256 });
    expect(manifest.chunks.map((c) => [c.name, c.message_id, c.attachment_id])).toEqual([
      ['in.bin.part001', null, null],
      ['in.bin.part002', null, null],
      ['in.bin.part003', null, null],
    ]);
    expect(manifest.channel_id).toBeNull();
  });
});
