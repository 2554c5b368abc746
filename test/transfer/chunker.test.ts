import { readFile, truncate, appendFile, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { SourceChangedError, SourceReadError } from '../../src/errors.js';
import { readParts, type SourcePart } from '../../src/transfer/chunker.js';
import { partChunks } from '../../src/transfer/sink.js';
import { writeSeededFile } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { sha256 as sha } from '../support/hash.js';

const CHUNK = 4096;

/** A file-backed part's bytes as a sink reads them for sending. */
async function sentBytes(p: SourcePart): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of partChunks({ ...p, name: `part${p.index}` })) pieces.push(Buffer.from(piece));
  return Buffer.concat(pieces);
}

async function collect(iterable: AsyncIterable<SourcePart>): Promise<SourcePart[]> {
  const parts: SourcePart[] = [];
  for await (const part of iterable) parts.push(part);
  return parts;
}

describe('readParts', () => {
  it.each([
    ['1 byte', 1, 1],
    ['chunk − 1', CHUNK - 1, 1],
    ['exactly one chunk', CHUNK, 1],
    ['chunk + 1 (last part of 1 byte)', CHUNK + 1, 2],
    ['3 × chunk', 3 * CHUNK, 3],
    ['3 × chunk + 1', 3 * CHUNK + 1, 4],
  ])('GIVEN a file of %s THEN the parts tile it, hash right, and the whole hash matches', async (_label, size, count) => {
    const dir = await tempDir();
    const file = path.join(dir, 'src.bin');
    const expectedWhole = await writeSeededFile(file, size, size);
    const bytes = await readFile(file);
    const reader = readParts(file, { chunkSize: CHUNK });
    const parts = await collect(reader);
    expect(parts).toHaveLength(count);
    parts.forEach((p, i) => {
      expect(p.index).toBe(i);
      expect(p.offset).toBe(i * CHUNK);
      expect(p.data!.length).toBe(p.size);
      expect(p.size).toBeLessThanOrEqual(CHUNK);
      expect(p.sha256).toBe(sha(bytes.subarray(p.offset, p.offset + p.size)));
    });
    expect(parts.at(-1)!.size).toBe(size - (count - 1) * CHUNK);
    expect(Buffer.concat(parts.map((p) => p.data!)).equals(bytes)).toBe(true);
    expect(reader.wholeFileSha256()).toBe(expectedWhole);
  });

  it('GIVEN startIndex 2 THEN reads from the third part and has no whole-file hash', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'src.bin');
    await writeSeededFile(file, 3 * CHUNK + 5, 7);
    const bytes = await readFile(file);
    const reader = readParts(file, { chunkSize: CHUNK, startIndex: 2 });
    const parts = await collect(reader);
    expect(parts.map((p) => p.index)).toEqual([2, 3]);
    expect(Buffer.concat(parts.map((p) => p.data!)).equals(bytes.subarray(2 * CHUNK))).toBe(true);
    expect(reader.wholeFileSha256()).toBeNull();
  });

  it('GIVEN the signal aborts mid-way THEN iteration throws an AbortError and stops', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'src.bin');
    await writeSeededFile(file, 10 * CHUNK, 3);
    const controller = new AbortController();
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const part of readParts(file, { chunkSize: CHUNK, signal: controller.signal })) {
          seen.push(part.index);
          if (part.index === 2) controller.abort();
        }
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([0, 1, 2]);
  });

  it('GIVEN the file shrinks while it is read THEN a clear error names it', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'src.bin');
    await writeSeededFile(file, 3 * CHUNK, 4);
    const run = async () => {
      for await (const part of readParts(file, { chunkSize: CHUNK })) {
        if (part.index === 0) await truncate(file, CHUNK + 10);
      }
    };
    const err = await run().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SourceReadError);
    expect((err as Error).message).toMatch(/got shorter/);
  });

  it('GIVEN the file grows while it is read THEN a clear error names it', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'src.bin');
    await writeSeededFile(file, 2 * CHUNK, 5);
    const run = async () => {
      for await (const part of readParts(file, { chunkSize: CHUNK })) {
        if (part.index === 1) await appendFile(file, 'more');
      }
    };
    await expect(run()).rejects.toThrow(/got longer/);
  });

  it('GIVEN a planned size different from the file THEN reading fails', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'src.bin');
    await writeSeededFile(file, 2 * CHUNK, 6);
    await expect(collect(readParts(file, { chunkSize: CHUNK, fileSize: 2 * CHUNK + 1 }))).rejects.toThrow(/got shorter/);
  });

  it('GIVEN a chunk size of 0 THEN it is refused', () => {
    expect(() => readParts('/nope', { chunkSize: 0 })).toThrow(RangeError);
  });
});

describe('readParts with keepData: false (file-backed parts)', () => {
  it.each([
    ['1 byte', 1],
    ['exactly one chunk', CHUNK],
    ['chunk + 1', CHUNK + 1],
    ['3 × chunk + 1', 3 * CHUNK + 1],
  ])('GIVEN a file of %s THEN parts carry no bytes, their Blob slices hold exactly the hashed bytes', async (_label, size) => {
    const dir = await tempDir();
    const file = path.join(dir, 'src.bin');
    const expectedWhole = await writeSeededFile(file, size, size + 11);
    const bytes = await readFile(file);
    // A small chunk against the 1 MiB hashing block and a part spanning several blocks.
    for (const chunkSize of [CHUNK, 2.5 * 1024 * 1024]) {
      const reader = readParts(file, { chunkSize, keepData: false });
      const parts = await collect(reader);
      expect(parts).toHaveLength(Math.ceil(size / chunkSize));
      for (const p of parts) {
        expect(p.data).toBeUndefined();
        expect(p.file).toMatchObject({ path: file, offset: p.offset, size: p.size });
        const sent = await sentBytes(p);
        expect(sent.equals(bytes.subarray(p.offset, p.offset + p.size))).toBe(true);
        expect(p.sha256).toBe(sha(sent));
      }
      expect(reader.wholeFileSha256()).toBe(expectedWhole);
    }
  });

  it('GIVEN a 5 MiB part (several hashing blocks) THEN its hash and the whole hash are right', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'src.bin');
    const size = 5 * 1024 * 1024 + 3;
    const whole = await writeSeededFile(file, size, 42);
    const bytes = await readFile(file);
    const reader = readParts(file, { chunkSize: 4 * 1024 * 1024 + 1, keepData: false });
    const parts = await collect(reader);
    expect(parts.map((p) => p.sha256)).toEqual(parts.map((p) => sha(bytes.subarray(p.offset, p.offset + p.size))));
    expect(reader.wholeFileSha256()).toBe(whole);
  });

  it('GIVEN the file is rewritten after a part was hashed THEN reading its range for sending fails as a changed source', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'src.bin');
    await writeSeededFile(file, 2 * CHUNK, 9);
    const parts = await collect(readParts(file, { chunkSize: CHUNK, keepData: false }));
    // Same size, other bytes, and an mtime surely different from the one seen at open.
    await writeSeededFile(file, 2 * CHUNK, 10);
    await utimes(file, new Date(), new Date(Date.now() + 5_000));
    await expect(sentBytes(parts[0]!)).rejects.toMatchObject({ reason: 'source_changed' });
  });

  it('GIVEN a planned mtime the file no longer has THEN reading refuses with SourceChangedError', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'src.bin');
    await writeSeededFile(file, 2 * CHUNK, 9);
    const { mtimeMs } = await stat(file);
    await expect(collect(readParts(file, { chunkSize: CHUNK, keepData: false, mtimeMs: mtimeMs - 1000 }))).rejects.toBeInstanceOf(SourceChangedError);
  });
});

describe('readParts read errors', () => {
  async function fileHandleProto() {
    const { open } = await import('node:fs/promises');
    const handle = await open(import.meta.filename, 'r');
    await handle.close();
    return Object.getPrototypeOf(handle) as { read: (...args: unknown[]) => Promise<unknown> };
  }

  it('GIVEN one failing read THEN it is retried once and the parts are right', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'src.bin');
    const whole = await writeSeededFile(file, 2 * CHUNK, 8);
    const spy = vi.spyOn(await fileHandleProto(), 'read').mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    try {
      const reader = readParts(file, { chunkSize: CHUNK });
      expect(await collect(reader)).toHaveLength(2);
      expect(reader.wholeFileSha256()).toBe(whole);
    } finally {
      spy.mockRestore();
    }
  });

  it('GIVEN a read failing twice THEN a SourceReadError names the file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'src.bin');
    await writeSeededFile(file, 2 * CHUNK, 8);
    const eio = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    const spy = vi
      .spyOn(await fileHandleProto(), 'read')
      .mockRejectedValueOnce(eio)
      .mockRejectedValueOnce(eio);
    try {
      await expect(collect(readParts(file, { chunkSize: CHUNK }))).rejects.toThrow(/src\.bin at byte 0 failed twice: EIO/);
    } finally {
      spy.mockRestore();
    }
  });

  it('GIVEN readRetries 2 and a read failing three times THEN the SourceReadError says it failed 3 times', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'src.bin');
    await writeSeededFile(file, 2 * CHUNK, 8);
    const eio = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    const spy = vi
      .spyOn(await fileHandleProto(), 'read')
      .mockRejectedValueOnce(eio)
      .mockRejectedValueOnce(eio)
      .mockRejectedValueOnce(eio);
    try {
      await expect(collect(readParts(file, { chunkSize: CHUNK, readRetries: 2 }))).rejects.toThrow(/src\.bin at byte 0 failed 3 times: EIO/);
    } finally {
      spy.mockRestore();
    }
  });
});
