/** The manifest's schema (README, 'Commands'): the digests it accepts. */
import { describe, expect, it } from 'vitest';
import { MANIFEST_FORMAT, parseManifest } from '../../src/transfer/manifest.js';

const manifest = (fileSha: string, partSha: string) => ({
  format: MANIFEST_FORMAT,
  version: 1,
  file: { name: 'a.bin', size: 3, sha256: fileSha },
  chunk_size: 3,
  chunks: [{ index: 0, name: 'a.bin.part001', offset: 0, size: 3, sha256: partSha }],
  created_at: '2026-01-01T00:00:00.000Z',
  completed_at: '2026-01-01T00:00:01.000Z',
});

describe('parseManifest', () => {
  it('GIVEN lowercase sha256 digests THEN accepted', () => {
    expect(parseManifest(manifest('a'.repeat(64), '0'.repeat(64))).chunks).toHaveLength(1);
  });

  it.each([
    ['upper case', 'A'.repeat(64)],
    ['one digit short', 'a'.repeat(63)],
    ['not hex', 'g'.repeat(64)],
  ])('GIVEN a digest in %s THEN refused naming the field', (_case, bad) => {
    expect(() => parseManifest(manifest(bad, bad))).toThrow(
      expect.objectContaining({
        issues: [
          expect.objectContaining({ path: ['file', 'sha256'], message: 'must be a sha256 hex digest' }),
          expect.objectContaining({ path: ['chunks', 0, 'sha256'], message: 'must be a sha256 hex digest' }),
        ],
      }),
    );
  });
});
