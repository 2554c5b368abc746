/** Shared pieces of the store tests: temp dirs, sample transfers, a controllable clock, a refusing disk. */
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { vi } from 'vitest';
import type { PartRecord } from '../../src/store/schema.js';
import type { NewTransfer } from '../../src/store/types.js';

export { seededRandom } from '../support/random-file.js';

export async function makeTempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dfs-store-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function sampleTransfer(id = 'upload_abc123', overrides: Partial<NewTransfer> = {}): NewTransfer {
  return {
    id,
    source: { kind: 'file', path: 'movies/movie.mkv', real_path: '/srv/files/movies/movie.mkv', size: 24_000_000, mtime_ms: 1_700_000_000_000 },
    file_name: 'movie.mkv',
    file_size: 24_000_000,
    chunk_size_bytes: 8_000_000,
    total_chunks: 3,
    owner_id: '111111111111111111',
    guild_id: '222222222222222222',
    channel_id: '333333333333333333',
    ...overrides,
  };
}

/** A clock that moves one second per reading unless set. */
export function fakeClock(start = Date.parse('2030-01-01T00:00:00.000Z')): { now: () => Date; set(ms: number): void } {
  let t = start;
  return {
    now: () => new Date((t += 1000)),
    set(ms: number) {
      t = ms;
    },
  };
}

/** A valid part record for part `index` of `sampleTransfer()`. */
export function samplePart(index: number): PartRecord {
  return {
    index,
    name: `movie.mkv.part${String(index + 1).padStart(3, '0')}`,
    offset: index * 8_000_000,
    size: 8_000_000,
    sha256: index.toString(16).padStart(64, '0'),
    message_id: String(1_300_000_000_000_000_000n + BigInt(index)),
    attachment_id: String(1_300_000_000_000_100_000n + BigInt(index)),
  };
}

/**
 * Makes every stat of `file` fail with EIO until the returned function is called: the store
 * stats the file before each write, so the disk "refuses" every write meanwhile, whatever
 * function does the durable write itself.
 */
export function failStat(file: string): () => void {
  const real = fs.promises.stat;
  const spy = vi.spyOn(fs.promises, 'stat').mockImplementation((target: fs.PathLike, ...rest: unknown[]) => {
    if (String(target) === file) return Promise.reject(Object.assign(new Error(`EIO: i/o error, stat '${file}'`), { code: 'EIO' }));
    return (real as (...args: unknown[]) => Promise<fs.Stats>)(target, ...rest);
  });
  return () => spy.mockRestore();
}
