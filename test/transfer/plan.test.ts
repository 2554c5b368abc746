import { describe, expect, it } from 'vitest';
import {
  attachmentLimit,
  chooseChunkSize,
  isPartName,
  MIB,
  packBatches,
  partName,
  planSlices,
  sanitizeName,
  totalChunks,
} from '../../src/transfer/plan.js';

const CHUNK = 8_000_000;

describe('chunk boundaries', () => {
  it.each([
    ['1 byte', 1, 1, 1],
    ['chunk − 1', CHUNK - 1, 1, CHUNK - 1],
    ['exactly one chunk', CHUNK, 1, CHUNK],
    ['chunk + 1', CHUNK + 1, 2, 1],
    ['3 × chunk', 3 * CHUNK, 3, CHUNK],
    ['3 × chunk + 1', 3 * CHUNK + 1, 4, 1],
  ])('GIVEN a file of %s THEN %i part(s) tile it and the last is %i bytes', (_label, size, count, last) => {
    expect(totalChunks(size, CHUNK)).toBe(count);
    const slices = planSlices(size, CHUNK);
    expect(slices).toHaveLength(count);
    let offset = 0;
    for (const [i, s] of slices.entries()) {
      expect(s.index).toBe(i);
      expect(s.offset).toBe(offset);
      expect(s.size).toBeGreaterThan(0);
      expect(s.size).toBeLessThanOrEqual(CHUNK);
      offset += s.size;
    }
    expect(offset).toBe(size);
    expect(slices.at(-1)!.size).toBe(last);
  });

  it('GIVEN an empty file THEN no parts', () => {
    expect(totalChunks(0, CHUNK)).toBe(0);
    expect(planSlices(0, CHUNK)).toEqual([]);
  });
});

describe('partName', () => {
  it.each([
    [9, 0, 'a.bin.part001'],
    [9, 8, 'a.bin.part009'],
    [10, 9, 'a.bin.part010'],
    [999, 998, 'a.bin.part999'],
    [1000, 0, 'a.bin.part0001'],
    [1000, 999, 'a.bin.part1000'],
  ])('GIVEN %i parts THEN part index %i is named %s', (total, index, name) => {
    expect(partName('a.bin', index, total)).toBe(name);
  });

  it('GIVEN 1000 parts THEN names sort in glob order', () => {
    const names = Array.from({ length: 1000 }, (_, i) => partName('x', i, 1000));
    expect([...names].sort()).toEqual(names);
  });
});

describe('isPartName', () => {
  it.each([
    ['a.bin.part001', true],
    ['a.bin.part0001', true],
    ['a.bin.part1', true],
    ['a.bin.part', false],
    ['a.bin.part001.bak', false],
    ['a.bin.partial', false],
    ['aa.bin.part001', false],
    ['a.bin.manifest.json', false],
  ])('GIVEN %s THEN %s for a.bin', (entry, expected) => {
    expect(isPartName('a.bin', entry)).toBe(expected);
  });
});

describe('sanitizeName', () => {
  const ID = 'upload_3f9k2a';
  it.each([
    ['my movie.mkv', 'my_movie.mkv'],
    ['café ☕.txt', 'caf___.txt'],
    ['.hidden', 'hidden'],
    ['__init__.py', 'init__.py'],
    ['', 'file'],
    ['...', 'file'],
    ['dir/sub/name.bin', 'name.bin'],
    ['C:\\Users\\me\\data.zip', 'data.zip'],
    ['a-b_c.D9', 'a-b_c.D9'],
    ['отчёт_2024.pdf', '2024.pdf'],
    // Nothing of the stem survives: the transfer id stands in for it.
    ['отчёт.pdf', `${ID}.pdf`],
    ['dir/ファイル.tar.gz', 'tar.gz'],
    ['._.x', `${ID}.x`],
    ['___.bin', `${ID}.bin`],
    ['.отчёт.pdf', `${ID}.pdf`],
    // Nothing is left at all: no stem and no extension to keep.
    ['отчёт', 'file'],
  ])('GIVEN %j THEN %j', (input, output) => {
    expect(sanitizeName(input, ID)).toBe(output);
  });

  it('GIVEN two names whose stems do not survive THEN two transfers get two names', () => {
    expect(sanitizeName('отчёт.pdf', 'upload_aaaaaa')).not.toBe(sanitizeName('счёт.pdf', 'upload_bbbbbb'));
  });
});

describe('attachmentLimit', () => {
  it.each([null, undefined, 0, -1])("GIVEN the interaction reports %s THEN Discord's 10 MiB applies", (reported) => {
    expect(attachmentLimit(reported)).toBe(10_485_760);
  });

  it('GIVEN a reported limit THEN it is used', () => {
    expect(attachmentLimit(25 * MIB)).toBe(25 * MIB);
  });
});

describe('chooseChunkSize', () => {
  it.each([0, -1, 1.5])('GIVEN a requested size of %d THEN it is refused naming the limit', (requested) => {
    expect(() => chooseChunkSize({ requested, defaultSize: CHUNK, limit: 25 * MIB })).toThrow(/26214400 bytes/);
  });

  it('GIVEN a requested size above the limit THEN refused with the limit in the message', () => {
    expect(() => chooseChunkSize({ requested: 11 * MIB, defaultSize: CHUNK, limit: 10 * MIB })).toThrow(/10485760 bytes \(10 MiB\)/);
  });

  it('GIVEN a requested size within the limit THEN it is used', () => {
    expect(chooseChunkSize({ requested: 5 * MIB, defaultSize: CHUNK, limit: 10 * MIB })).toBe(5 * MIB);
  });

  it('GIVEN no request and a small limit THEN the default is lowered to it', () => {
    expect(chooseChunkSize({ defaultSize: CHUNK, limit: 5 * MIB })).toBe(5 * MIB);
  });

  it('GIVEN no limit reported THEN 10 MiB applies', () => {
    expect(chooseChunkSize({ defaultSize: 50 * MIB, limit: null })).toBe(10 * MIB);
    expect(chooseChunkSize({ defaultSize: CHUNK })).toBe(CHUNK);
    expect(() => chooseChunkSize({ requested: 10 * MIB + 1, defaultSize: CHUNK })).toThrow(/10485760/);
  });
});

describe('packBatches', () => {
  const parts = (...sizes: number[]) => sizes.map((size, index) => ({ index, size }));
  const indices = (batches: { index: number }[][]) => batches.map((b) => b.map((p) => p.index));

  it('GIVEN 3 parts of 8 MB THEN they share one message', () => {
    expect(indices(packBatches(parts(CHUNK, CHUNK, CHUNK), 3))).toEqual([[0, 1, 2]]);
  });

  it('GIVEN 3 parts of 10 MiB THEN they do not fit one 25 MiB message', () => {
    expect(indices(packBatches(parts(10 * MIB, 10 * MIB, 10 * MIB), 3))).toEqual([[0, 1], [2]]);
  });

  it('GIVEN a single 30 MiB part THEN it travels alone', () => {
    expect(indices(packBatches(parts(MIB, 30 * MIB, MIB), 10))).toEqual([[0], [1], [2]]);
  });

  it('GIVEN many small parts and a cap of 10 THEN no message has more than 10', () => {
    const batches = packBatches(parts(...Array(23).fill(1000)), 10);
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
  });

  it('GIVEN MAX_CHUNKS_PER_MESSAGE 1 THEN one part per message', () => {
    expect(indices(packBatches(parts(1, 2, 3), 1))).toEqual([[0], [1], [2]]);
  });
});
