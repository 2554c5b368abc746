import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseSize } from '../../src/cli/size.js';

describe('parseSize', () => {
  it.each([
    ['8000000', 8_000_000],
    ['8MB', 8_000_000],
    ['8mb', 8_000_000],
    ['10MiB', 10 * 2 ** 20],
    ['500KB', 500_000],
    ['64KiB', 65_536],
    ['1GiB', 2 ** 30],
    ['1.5KB', 1500],
    ['2 MiB', 2 * 2 ** 20],
  ])('GIVEN %s THEN %i bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'ten', '8XB', '0', '-5', '0.5', '1.5B', 'MB'])('GIVEN %j THEN a usage error', (text) => {
    expect(() => parseSize(text)).toThrow(UsageError);
  });
});
