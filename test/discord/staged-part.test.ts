/** A part's temp file while it is checked (src/discord/staged-part.ts). */
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { StagedPart } from '../../src/discord/staged-part.js';
import { tempDir } from '../support/temp.js';

const MIB = 1024 * 1024;

async function readAll(part: StagedPart, start?: number, end?: number): Promise<Buffer> {
  const pieces: Uint8Array[] = [];
  for await (const piece of part.read(start, end)) pieces.push(piece);
  return Buffer.concat(pieces);
}

describe('a staged part', () => {
  it('GIVEN pieces appended across the write buffer THEN they read back whole and by range, and the folder stays empty', async () => {
    const dir = await tempDir();
    const part = await StagedPart.create(dir);
    try {
      // Removed from the folder at once: nothing is left by a crash.
      expect(await readdir(dir)).toEqual([]);
      const bytes = Buffer.alloc(2 * MIB + 5);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
      for (let at = 0; at < bytes.length; at += 60_000) await part.append(bytes.subarray(at, at + 60_000));
      await part.flush();
      expect(part.size).toBe(bytes.length);
      expect((await readAll(part)).equals(bytes)).toBe(true);
      expect((await readAll(part, MIB - 3, MIB + 10)).equals(bytes.subarray(MIB - 3, MIB + 10))).toBe(true);
      expect((await readAll(part, 5, 5)).length).toBe(0);
    } finally {
      await part.close();
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('GIVEN more small pieces in one write than the system takes at once (IOV_MAX, 1024 on Linux) THEN every byte reads back in order', async () => {
    const part = await StagedPart.create(await tempDir());
    try {
      const pieces = Array.from({ length: 2000 }, (_, i) => Buffer.alloc(600, i % 256));
      for (const piece of pieces) await part.append(piece);
      await part.flush();
      expect((await readAll(part)).equals(Buffer.concat(pieces))).toBe(true);
    } finally {
      await part.close();
    }
  });

  it('GIVEN a reset after some bytes THEN only what was appended since reads back', async () => {
    const part = await StagedPart.create(await tempDir());
    try {
      await part.append(Buffer.alloc(3 * MIB, 1));
      await part.reset();
      expect(part.size).toBe(0);
      await part.append(Buffer.from('second attempt'));
      await part.flush();
      expect((await readAll(part)).toString()).toBe('second attempt');
    } finally {
      await part.close();
    }
  });

  it('GIVEN a folder that does not exist THEN create rejects', async () => {
    await expect(StagedPart.create('/nonexistent-dfs-folder/x')).rejects.toThrow(/ENOENT/);
  });
});
