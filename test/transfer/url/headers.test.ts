import { describe, expect, it } from 'vitest';
import { nameFromDisposition } from '../../../src/transfer/url/headers.js';

describe('nameFromDisposition', () => {
  it.each([
    ['attachment; filename="a b.iso"', 'a b.iso'],
    ['attachment; filename=plain.bin', 'plain.bin'],
    ['attachment; filename="fallback.txt"; filename*=UTF-8\'\'%E2%82%AC%20rates.txt', '€ rates.txt'],
    ['attachment; filename="esc\\"aped.txt"', 'esc"aped.txt'],
    ['inline', null],
    ['', null],
  ])('GIVEN %j THEN the name is %j', (header, name) => {
    expect(nameFromDisposition(header)).toBe(name);
  });
});
