/**
 * Failure injection into write-file-atomic (STYLE example 8): make each of its steps fail in
 * turn and check the previous file is intact. write-file-atomic takes no fs argument, but it
 * calls `fs.open`, `fs.write`, `fs.fsync`, `fs.rename` through the shared `require('fs')`
 * object at call time, so spying on that object reaches every step.
 */
import fs from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { FileStore, readProgressFile } from '../../src/store/file-store.js';
import { makeTempDir, sampleTransfer } from './helpers.js';

type Step = 'open' | 'write' | 'fsync' | 'rename';

/**
 * Makes `fs[step]` call back with EINVAL; returns how many times it was hit. Not EIO or ENOSPC:
 * a disk that refuses writes makes the store hold the change (disk-refusal.test.ts); any other
 * error drops it, which is what these tests check.
 */
function failStep(step: Step): { hits: () => number } {
  let hits = 0;
  vi.spyOn(fs, step).mockImplementation(((...args: unknown[]) => {
    hits++;
    const callback = args.at(-1) as (error: Error) => void;
    process.nextTick(() => callback(Object.assign(new Error(`injected ${step} failure`), { code: 'EINVAL' })));
  }) as never);
  return { hits: () => hits };
}

let dir: string;
let cleanup: () => Promise<void>;
let file: string;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
  file = path.join(dir, 'transfer_progress.json');
});
afterEach(async () => {
  vi.restoreAllMocks();
  await cleanup();
});

describe.each(['open', 'write', 'fsync', 'rename'] as const)('write-file-atomic step %s fails', (step) => {
  test(`GIVEN ${step} fails during an update THEN the caller sees the error and the previous file is intact`, async () => {
    const store = await FileStore.open(file);
    const created = await store.create(sampleTransfer());
    await store.update(created.id, (d) => void d.completed_chunks.push(0));
    const before = await readFile(file);

    const injected = failStep(step);
    await expect(store.update(created.id, (d) => void d.completed_chunks.push(1))).rejects.toThrow(`injected ${step} failure`);
    expect(injected.hits()).toBeGreaterThan(0);
    vi.restoreAllMocks();

    expect((await readFile(file)).equals(before)).toBe(true);
    const onDisk = await readProgressFile(file);
    expect(onDisk.active_transfers[0]!.completed_chunks).toEqual([0]);
    // The failed change is not shown as saved, and no temp file is left behind.
    expect(store.get(created.id)!.completed_chunks).toEqual([0]);
    expect((await readdir(dir)).sort()).toEqual(['transfer_progress.json', 'transfer_progress.lock']);

    // The store keeps working once the disk does.
    await store.update(created.id, (d) => void d.completed_chunks.push(2));
    expect((await readProgressFile(file)).active_transfers[0]!.completed_chunks).toEqual([0, 2]);
    await store.close();
  });
});

test('GIVEN the control: a plain in-place writer under the same injection THEN the check above sees the damage', async () => {
  // Proves the harness is sensitive: a writer that truncates the real file first loses it.
  const store = await FileStore.open(file);
  await store.create(sampleTransfer());
  await store.close();
  const before = await readFile(file);

  const naiveWrite = async (target: string, text: string): Promise<void> => {
    const fd = await promisify(fs.open)(target, 'w');
    try {
      await promisify(fs.write)(fd, text);
      await promisify(fs.fsync)(fd);
    } finally {
      await promisify(fs.close)(fd);
    }
  };
  failStep('write');
  await expect(naiveWrite(file, '{"schema_version":1,"active_transfers":[]}')).rejects.toThrow('injected write failure');
  vi.restoreAllMocks();
  expect((await readFile(file)).equals(before)).toBe(false);
  await expect(readProgressFile(file)).rejects.toThrow(/empty/);
});

test('GIVEN many changes arrive while a write is in flight THEN each caller resolves only once its change is on disk', async () => {
  const store = await FileStore.open(file);
  const created = await store.create(sampleTransfer());
  const checks = Array.from({ length: 30 }, (_, i) =>
    store
      .update(created.id, (d) => void d.completed_chunks.push(i))
      .then(() => JSON.parse(fs.readFileSync(file, 'utf8')).active_transfers[0].completed_chunks as number[]),
  );
  const seen = await Promise.all(checks);
  seen.forEach((onDisk, i) => expect(onDisk).toContain(i));
  await store.close();
});

test('GIVEN 30 concurrent changes THEN they are coalesced into fewer writes', async () => {
  const store = await FileStore.open(file);
  const created = await store.create(sampleTransfer());
  const rename = vi.spyOn(fs, 'rename');
  await Promise.all(Array.from({ length: 30 }, (_, i) => store.update(created.id, (d) => void d.completed_chunks.push(i))));
  expect(rename.mock.calls.length).toBeGreaterThan(0);
  expect(rename.mock.calls.length).toBeLessThan(30);
  await store.close();
});

test('GIVEN writes THEN each replaced version is unlinked once the new one is durable, and a killed writer\'s leftovers go at the next open', async () => {
  const store = await FileStore.open(file);
  const created = await store.create(sampleTransfer());
  for (let i = 0; i < 5; i++) await store.update(created.id, (d) => void d.completed_chunks.push(i));
  await store.close();
  expect((await readdir(dir)).sort()).toEqual(['transfer_progress.json']);

  // What a SIGKILL between the steps leaves: a temp file and a previous version's second name.
  const saved = await readFile(file);
  await fs.promises.writeFile(`${file}.123456`, 'partial');
  await fs.promises.link(file, `${file}.previous-999-7`);
  await fs.promises.writeFile(path.join(dir, 'transfer_progress.json.previous-notes.txt'), 'a user file');
  const reopened = await FileStore.open(file);
  expect((await readdir(dir)).sort()).toEqual([
    'transfer_progress.json',
    'transfer_progress.json.previous-notes.txt',
    'transfer_progress.lock',
  ]);
  expect((await readFile(file)).equals(saved)).toBe(true);
  await reopened.close();
});

test('GIVEN a file system without hard links THEN writes still replace the file atomically', async () => {
  const store = await FileStore.open(file);
  const created = await store.create(sampleTransfer());
  const link = vi.spyOn(fs.promises, 'link').mockRejectedValue(Object.assign(new Error('not supported'), { code: 'EPERM' }));
  await store.update(created.id, (d) => void d.completed_chunks.push(0));
  expect(link).toHaveBeenCalled();
  expect((await readProgressFile(file)).active_transfers[0]!.completed_chunks).toEqual([0]);
  await store.close();
  expect((await readdir(dir)).sort()).toEqual(['transfer_progress.json']);
});
