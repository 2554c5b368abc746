/** Two writers on one file: a change based on an older state is refused, never a lost update. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { StaleWriteError } from '../../src/errors.js';
import { FileStore } from '../../src/store/file-store.js';
import { readProgressFile } from '../../src/store/parse.js';
import { makeTempDir, sampleTransfer } from './helpers.js';

let cleanup: () => Promise<void>;
let file: string;
let a: FileStore;
let b: FileStore;
beforeEach(async () => {
  let dir: string;
  ({ dir, cleanup } = await makeTempDir());
  file = path.join(dir, 'transfer_progress.json');
  a = await FileStore.open(file, { lock: false });
  await a.create(sampleTransfer('upload_xxxxxx'));
  await a.create(sampleTransfer('upload_yyyyyy'));
  b = await FileStore.open(file, { lock: false });
});
afterEach(async () => {
  await a.close();
  await b.close();
  await cleanup();
});

const chunksOnDisk = async (id: string): Promise<number[]> =>
  (await readProgressFile(file)).active_transfers.find((t) => t.id === id)!.completed_chunks;

test('GIVEN A changed X after B loaded it THEN B changing X is rejected with StaleWriteError and the file keeps A’s change', async () => {
  await a.update('upload_xxxxxx', (d) => void d.completed_chunks.push(1));
  const before = await readFile(file);
  await expect(b.update('upload_xxxxxx', (d) => void d.completed_chunks.push(2))).rejects.toThrow(StaleWriteError);
  expect((await readFile(file)).equals(before)).toBe(true);
  expect(await chunksOnDisk('upload_xxxxxx')).toEqual([1]);
  // B now sees what is on disk and can build on it.
  expect(b.get('upload_xxxxxx')!.completed_chunks).toEqual([1]);
  await b.update('upload_xxxxxx', (d) => void d.completed_chunks.push(2));
  expect(await chunksOnDisk('upload_xxxxxx')).toEqual([1, 2]);
});

test('GIVEN A changed X THEN B changing another transfer Y succeeds and keeps A’s change to X', async () => {
  await a.update('upload_xxxxxx', (d) => void d.completed_chunks.push(1));
  await b.update('upload_yyyyyy', (d) => void d.completed_chunks.push(7));
  expect(await chunksOnDisk('upload_xxxxxx')).toEqual([1]);
  expect(await chunksOnDisk('upload_yyyyyy')).toEqual([7]);
});

test('GIVEN a stale change and a fresh one in the same write THEN only the stale one is rejected', async () => {
  await a.update('upload_xxxxxx', (d) => void d.completed_chunks.push(1));
  const stale = b.update('upload_xxxxxx', (d) => void d.completed_chunks.push(2));
  const fresh = b.update('upload_yyyyyy', (d) => void d.completed_chunks.push(3));
  const [staleResult, freshResult] = await Promise.allSettled([stale, fresh]);
  expect(staleResult.status).toBe('rejected');
  expect((staleResult as PromiseRejectedResult).reason).toBeInstanceOf(StaleWriteError);
  expect(freshResult.status).toBe('fulfilled');
  expect(await chunksOnDisk('upload_xxxxxx')).toEqual([1]);
  expect(await chunksOnDisk('upload_yyyyyy')).toEqual([3]);
});

test('GIVEN B queued two changes to X on a stale base THEN both are rejected, not just the first', async () => {
  await a.update('upload_xxxxxx', (d) => void d.completed_chunks.push(1));
  const results = await Promise.allSettled([
    b.update('upload_xxxxxx', (d) => void d.completed_chunks.push(2)),
    b.update('upload_xxxxxx', (d) => void d.completed_chunks.push(3)),
  ]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  expect(await chunksOnDisk('upload_xxxxxx')).toEqual([1]);
});

test('GIVEN A pruned X THEN B changing X is rejected as stale', async () => {
  await a.setStatus('upload_xxxxxx', 'cancelled');
  await b.close();
  b = await FileStore.open(file, { lock: false });
  await a.prune(0, new Date(Date.now() + 60_000));
  await expect(b.update('upload_xxxxxx', (d) => void d.notes.push('late'))).rejects.toThrow(StaleWriteError);
  expect((await readProgressFile(file)).active_transfers.map((t) => t.id)).toEqual(['upload_yyyyyy']);
});
