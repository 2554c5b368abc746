/**
 * Deterministic pseudo-random files for tests: the same (size, seed) always gives the same
 * bytes, written in 1 MiB blocks so a large file never sits in memory.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const BLOCK = 1024 * 1024; // bytes

/** xorshift32 words, serialized little-endian so the bytes do not depend on the host. */
export function seededBytes(size: number, seed: number, state = { x: seedState(seed) }): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = state.x;
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  if (i < size) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    for (let k = 0; i < size; i++, k++) buf[i] = (x >>> (8 * k)) & 0xff;
  }
  state.x = x;
  return buf;
}

function seedState(seed: number): number {
  // xorshift never leaves 0; mix the seed so nearby seeds differ from the first word.
  const x = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0 || 0x1234567;
  return x;
}

/** Writes `size` seeded bytes to `path` and resolves with their sha256 (hex). */
export async function writeSeededFile(path: string, size: number, seed: number): Promise<string> {
  const hash = createHash('sha256');
  const state = { x: seedState(seed) };
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < size;) {
      // Whole blocks are a multiple of 4 bytes, so block boundaries never split a word.
      const block = seededBytes(Math.min(BLOCK, size - written), seed, state);
      hash.update(block);
      await handle.write(block, 0, block.length, written);
      written += block.length;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** A small seeded PRNG (mulberry32) so "random" delays repeat from run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
