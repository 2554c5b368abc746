import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ResumableSha256 } from '../../src/transfer/resumable-hash.js';

const native = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('ResumableSha256', () => {
  it.each([0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 65_537])('GIVEN %i bytes THEN the digest equals node:crypto', (n) => {
    const data = randomBytes(n);
    expect(new ResumableSha256().update(data).digest()).toBe(native(data));
  });

  it('GIVEN "abc" THEN the FIPS 180-4 test vector comes out', () => {
    expect(new ResumableSha256().update(Buffer.from('abc')).digest()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('GIVEN data fed in random slices, saved and restored between them THEN the digest equals node:crypto', () => {
    const data = randomBytes(200_003);
    for (let round = 0; round < 20; round++) {
      let hash = new ResumableSha256();
      for (let at = 0; at < data.length;) {
        const size = Math.min(data.length - at, 1 + Math.floor(Math.random() * 9_000));
        hash.update(data.subarray(at, at + size));
        at += size;
        if (Math.random() < 0.5) hash = ResumableSha256.restore(hash.exportState());
      }
      expect(hash.digest()).toBe(native(data));
      expect(hash.bytesHashed).toBe(data.length);
    }
  });

  it('GIVEN a digest taken midway THEN hashing goes on unchanged', () => {
    const a = randomBytes(100);
    const b = randomBytes(100);
    const hash = new ResumableSha256().update(a);
    expect(hash.digest()).toBe(native(a));
    expect(hash.update(b).digest()).toBe(native(Buffer.concat([a, b])));
  });

  it.each([
    '',
    'sha256:2:5:AAAA',
    'sha256:2:x:' + Buffer.alloc(100).toString('base64'),
    'md5:1:0:x:',
    new ResumableSha256().exportState().replace('sha256:2:0:', 'sha256:2:0:AA'),
  ])('GIVEN the bad state %j THEN restore throws', (state) => {
    expect(() => ResumableSha256.restore(state)).toThrow();
  });
});
