import { describe, expect, it } from 'vitest';
import { nameFromDisposition } from '../../../src/transfer/url/headers.js';

describe('nameFromDisposition', () => {
  it.each([
    ['attachment; filename="a b.iso"', 'a b.iso'],
    ['attachment; filename=plain.bin', 'plain.bin'],
    ['attachment; filename="fallback.txt"; filename*=UTF-8\'\'%E2%82%AC%20rates.txt', '€ rates.txt'],
    ['attachment; filename="esc\\"aped.txt"', 'esc"aped.txt'],
    ['inline', null],
    ['filename="no-type.bin"', 'no-type.bin'],
    ['attachment; filename="fallback.txt"; filename*=UTF-8\'\'%ZZ', 'fallback.txt'],
    ['attachment; filename="fallback.txt"; filename*=UTF-8\'\'%20', 'fallback.txt'],
    ['attachment; filename*="UTF-8\'\'quoted%20ext.txt"', 'quoted ext.txt'],
    ["attachment; filename*=ISO-8859-1''caf%E9.txt", 'café.txt'],
    ['attachment; filename="unterminated', null],
    ['', null],
  ])('GIVEN %j THEN the name is %j', (header, name) => {
    expect(nameFromDisposition(header)).toBe(name);
  });
});
