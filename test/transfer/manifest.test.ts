/** The manifest's schema (README, 'Commands'): the digests it accepts. */
import { describe, expect, it } from 'vitest';
import { buildManifest, MANIFEST_FORMAT, parseManifest } from '../../src/transfer/manifest.js';
import { transferSchema } from '../../src/store/schema.js';

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

describe('buildManifest and each part channel', () => {
  const now = '2030-01-01T00:00:00.000Z';
  const part = (index: number, channel?: string) => ({
    index,
    name: `a.bin.part00${index + 1}`,
    offset: index,
    size: 1,
    sha256: '0'.repeat(64),
    message_id: `m${index}`,
    attachment_id: `a${index}`,
    ...(channel === undefined ? {} : { channel_id: channel }),
  });
  const transfer = transferSchema.parse({
    id: 'upload_mani01',
    status: 'in_progress',
    source: { kind: 'file', path: 'a.bin', real_path: '/x/a.bin', size: 2, mtime_ms: 0 },
    file_name: 'a.bin',
    file_size: 2,
    chunk_size_bytes: 1,
    total_chunks: 2,
    // Part 1 recorded before parts had a channel; part 2 in a thread.
    parts: [part(0), part(1, 'thread-1')],
    completed_chunks: [0, 1],
    owner_id: '1',
    channel_id: 'channel-1',
    created_at: now,
    updated_at: now,
  });

  it('GIVEN parts in the channel and in a thread THEN each entry names its channel, an older record the transfer channel, and it parses back', () => {
    const { manifest } = buildManifest(transfer, 'a'.repeat(64), now);
    expect(manifest!.chunks.map((c) => c.channel_id)).toEqual(['channel-1', 'thread-1']);
    expect(manifest!.channel_id).toBe('channel-1');
    expect(parseManifest(JSON.parse(JSON.stringify(manifest))).chunks[1]!.channel_id).toBe('thread-1');
  });

  it('GIVEN a manifest from before parts had a channel THEN it parses, its parts without one', () => {
    const old = manifest('a'.repeat(64), '0'.repeat(64));
    expect(parseManifest(old).chunks[0]!.channel_id).toBeUndefined();
  });
});
