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

describe('parseManifest tiling', () => {
  const good = manifest('a'.repeat(64), '0'.repeat(64));
  it.each([
    ['a part at the wrong offset', { ...good, chunks: [{ ...good.chunks[0]!, offset: 1 }] }, 'manifest part a.bin.part001: offset 1, expected 0'],
    ['parts that do not add up', { ...good, file: { ...good.file, size: 4 } }, 'manifest parts add up to 3 bytes, file size is 4'],
    ['a part name with a path', { ...good, chunks: [{ ...good.chunks[0]!, name: '../x' }] }, 'manifest part name "../x" is not a plain file name'],
  ])('GIVEN %s THEN a ManifestError says what is wrong', (_case, bad, message) => {
    expect(() => parseManifest(bad)).toThrow(expect.objectContaining({ name: 'ManifestError', code: 'DFS_MANIFEST_INVALID', message }));
  });
});
