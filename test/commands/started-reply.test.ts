/** How a started transfer's reply names its size: one part is "1 part", an unknown size says so without a dangling "of". */
import { describe, expect, it } from 'vitest';
import { sizeInParts } from '../../src/commands/split.js';

const MB8 = 8_000_000;

describe('the size in a started reply', () => {
  it.each([
    ['of one part', 3_000_000, 1, '3000000 bytes in 1 part of 7.63 MiB'],
    ['of six parts', 41_943_040, 6, '41943040 bytes in 6 parts of 7.63 MiB'],
    ['of a size not known (a download without a length)', null, null, 'size unknown until the end, in parts of 7.63 MiB'],
  ] as const)('GIVEN a file %s (%s bytes, %s parts) THEN the reply says "%s"', (_label, size, parts, said) => {
    expect(sizeInParts(size, parts, MB8)).toBe(said);
  });
});
