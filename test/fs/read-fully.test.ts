/** readFully: a buffer filled however the reads come back, short only at the end of the file. */
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFully, type PositionalReader } from '../../src/fs/read-fully.js';
import { tempDir } from '../support/temp.js';

/** A file of `bytes` whose reads return at most `most` bytes each; records every read asked for. */
function dribbling(bytes: Buffer, most: number): PositionalReader & { asked: [number, number, number][] } {
  const asked: [number, number, number][] = [];
  return {
    asked,
    async read(buffer, offset, length, position) {
      asked.push([offset, length, position]);
      const n = Math.max(0, Math.min(length, most, bytes.length - position));
      bytes.copy(buffer, offset, position, position + n);
      return { bytesRead: n };
    },
  };
}

describe('readFully', () => {
  const bytes = Buffer.from('0123456789');

  it('GIVEN reads that return 3 bytes at a time THEN it reads on until the buffer is full', async () => {
    const file = dribbling(bytes, 3);
    const buffer = Buffer.alloc(9, '.');
    expect(await readFully(file, buffer, 1, 7, 2)).toBe(7);
    expect(buffer.toString()).toBe('.2345678.');
    expect(file.asked).toEqual([
      [1, 7, 2],
      [4, 4, 5],
      [7, 1, 8],
    ]);
  });

  it('GIVEN a file that ends first THEN it returns what arrived', async () => {
    const buffer = Buffer.alloc(8, '.');
    expect(await readFully(dribbling(bytes, 4), buffer, 0, 8, 5)).toBe(5);
    expect(buffer.toString()).toBe('56789...');
  });

  it('GIVEN a position at or past the end THEN 0', async () => {
    expect(await readFully(dribbling(bytes, 4), Buffer.alloc(4), 0, 4, 10)).toBe(0);
  });

  it('GIVEN a length of 0 THEN it reads nothing', async () => {
    const file = dribbling(bytes, 4);
    expect(await readFully(file, Buffer.alloc(4), 0, 0, 0)).toBe(0);
    expect(file.asked).toEqual([]);
  });

  it('GIVEN a FileHandle THEN it reads the file', async () => {
    const file = path.join(await tempDir(), 'f.bin');
    await writeFile(file, bytes);
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(6);
      expect(await readFully(handle, buffer, 0, 6, 7)).toBe(3);
      expect(buffer.subarray(0, 3).toString()).toBe('789');
    } finally {
      await handle.close();
    }
  });
});
