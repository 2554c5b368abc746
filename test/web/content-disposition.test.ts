/**
 * The download's `Content-Disposition` (src/web/share-links.ts): whatever the file is called,
 * a client reading `filename*` gets the exact name and one reading only `filename` a safe
 * ASCII stand-in; nothing in a name breaks out of its parameter.
 */
import { parse } from 'content-disposition';
import { describe, expect, it } from 'vitest';
import { contentDisposition } from '../../src/web/share-links.js';

const NAMES = [
  'big.bin',
  'a b.txt',
  'my "holiday" — été 2026.mkv',
  '日本.txt',
  'back\\slash.bin',
  'tab\there\nand\rreturn.bin',
  'del\x7f.bin',
  "it's (1) [copy]; x=y,z.bin",
  '100% a%20b.bin',
  'semi;colon"=.bin',
];

describe('Content-Disposition of a download', () => {
  it('GIVEN names with spaces, quotes, non-ASCII, control characters, percent signs and separators THEN the exact name is read back, as an attachment', () => {
    for (const name of NAMES) {
      const header = contentDisposition(name);
      const parsed = parse(header);
      expect(parsed.type, name).toBe('attachment');
      expect(parsed.parameters.filename, name).toBe(name);
      // One line of printable ASCII: nothing a client or proxy could read as a header's end.
      expect(header, name).toMatch(/^[\x20-\x7e]+$/);
    }
  });

  it('GIVEN a plain ASCII name THEN filename alone; GIVEN any other THEN an ASCII fallback without quotes or percent signs, and filename*', () => {
    expect(contentDisposition('big.bin')).toBe('attachment; filename=big.bin');
    expect(contentDisposition('a b.txt')).toBe('attachment; filename="a b.txt"');
    expect(contentDisposition('my "holiday" — été 2026.mkv')).toBe(
      `attachment; filename="my _holiday_ _ _t_ 2026.mkv"; filename*=UTF-8''my%20%22holiday%22%20%E2%80%94%20%C3%A9t%C3%A9%202026.mkv`,
    );
    expect(contentDisposition('tab\there.bin')).toBe(`attachment; filename=tab_here.bin; filename*=UTF-8''tab%09here.bin`);
    expect(contentDisposition('a%20b.bin')).toBe(`attachment; filename=a_20b.bin; filename*=UTF-8''a%2520b.bin`);
  });
});
