/**
 * Failure injection into the store's durable write (STYLE example 8): make each step of
 * writeFileDurably fail in turn and check the previous file is intact. The store passes no
 * file system in, so node's `fs.promises` methods are spied on: writeFileDurably looks them
 * up at call time, and the stand-ins (test/support/failing-fs.ts) fail only its own calls.
 */
import fs from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { FileStore } from '../../src/store/file-store.js';
import { readProgressFile } from '../../src/store/parse.js';
import { failingFs, type InjectedStep } from '../support/failing-fs.js';
import { tmpfsForTest } from '../support/tmpfs.js';
import { makeTempDir, sampleTransfer } from './helpers.js';

/**
 * Routes `fs.promises` through a file system that fails `step` with EINVAL; returns how many
 * times it was hit. Not EIO or ENOSPC: a disk that refuses writes makes the store hold the
 * change (disk-refusal.test.ts); any other error drops it, which is what these tests check.
 */
function failStep(step: InjectedStep): { hits: () => number } {
  const failing = failingFs(step, 'EINVAL');
  for (const name of ['open', 'link', 'rename'] as const) {
    vi.spyOn(fs.promises, name).mockImplementation(((...args: unknown[]) =>
      (failing.fs[name] as (...a: unknown[]) => unknown).apply(failing.fs, args)) as never);
  }
  return failing;
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

describe.each(['open', 'write', 'no-bytes', 'fsync', 'size', 'rename'] as const)('durable write step %s fails', (step) => {
  test(`GIVEN ${step} fails during an update THEN the caller sees the error and the previous file is intact`, async () => {
    const store = await FileStore.open(file);
    const created = await store.create(sampleTransfer());
    await store.update(created.id, (d) => void d.completed_chunks.push(0));
    const before = await readFile(file);

    const injected = failStep(step);
    await expect(store.update(created.id, (d) => void d.completed_chunks.push(1))).rejects.toThrow(/injected .* failure|took none|holds \d+ bytes/);
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

test('GIVEN the control: a writer that ignores bytesWritten, under short writes THEN the checks above see the damage', async () => {
  // Proves the harness is sensitive: write-file-atomic's way (one write, fsync, rename) puts a truncated file in place.
  const store = await FileStore.open(file);
  await store.create(sampleTransfer());
  await store.close();
  const before = await readFile(file);

  const ignoringWrite = async (target: string, text: string): Promise<void> => {
    const temp = path.join(dir, '.transfer_progress.json.1.00000000.tmp');
    const handle = await fs.promises.open(temp, 'wx');
    try {
      const data = Buffer.from(text);
      await handle.write(data, 0, data.length, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temp, target);
  };
  const injected = failStep('short-write');
  await ignoringWrite(file, before.toString('utf8'));
  expect(injected.hits()).toBe(1);
  vi.restoreAllMocks();
  expect((await readFile(file)).equals(before)).toBe(false);
  await expect(readProgressFile(file)).rejects.toThrow(/not valid JSON/);
});

test('GIVEN every write takes only half of what it was given THEN updates still write the whole file', async () => {
  const store = await FileStore.open(file);
  const created = await store.create(sampleTransfer());
  const injected = failStep('short-write');
  await store.update(created.id, (d) => void d.completed_chunks.push(0));
  expect(injected.hits()).toBeGreaterThan(1);
  vi.restoreAllMocks();
  expect((await readProgressFile(file)).active_transfers[0]!.completed_chunks).toEqual([0]);
  await store.close();
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
  const rename = vi.spyOn(fs.promises, 'rename');
  await Promise.all(Array.from({ length: 30 }, (_, i) => store.update(created.id, (d) => void d.completed_chunks.push(i))));
  expect(rename.mock.calls.length).toBeGreaterThan(0);
  expect(rename.mock.calls.length).toBeLessThan(30);
  await store.close();
});

test("GIVEN writes THEN each replaced version is unlinked once the new one is durable, and a killed writer's leftovers go at the next open", async () => {
  const store = await FileStore.open(file);
  const created = await store.create(sampleTransfer());
  for (let i = 0; i < 5; i++) await store.update(created.id, (d) => void d.completed_chunks.push(i));
  await store.close();
  expect((await readdir(dir)).sort()).toEqual(['transfer_progress.json']);

  // What a SIGKILL between the steps leaves: a temp file and a previous version's second name.
  const saved = await readFile(file);
  await fs.promises.writeFile(path.join(dir, '.transfer_progress.json.999.0a1b2c3d.tmp'), 'partial');
  // write-file-atomic's temp name, from versions before writeFileDurably.
  await fs.promises.writeFile(`${file}.123456`, 'partial');
  await fs.promises.link(file, `${file}.previous-999-7`);
  await fs.promises.writeFile(path.join(dir, 'transfer_progress.json.previous-notes.txt'), 'a user file');
  const reopened = await FileStore.open(file);
  expect((await readdir(dir)).sort()).toEqual(['transfer_progress.json', 'transfer_progress.json.previous-notes.txt', 'transfer_progress.lock']);
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

test('GIVEN the progress file on a 2 MiB tmpfs AND an update that needs more room than is left THEN the update is rejected and the file survives byte for byte', async (context) => {
  const disk = await tmpfsForTest(context, 2 * 1024 * 1024);
  const onTmpfs = path.join(disk, 'transfer_progress.json');
  const store = await FileStore.open(onTmpfs);
  const created = await store.create(sampleTransfer());
  await store.update(created.id, (d) => void d.notes.push('a'.repeat(700_000)));
  const before = await readFile(onTmpfs);

  // The new version (~1.4 MB) does not fit beside the old one (~0.7 MB): the disk fills mid-write.
  await expect(store.update(created.id, (d) => void d.notes.push('b'.repeat(700_000)))).rejects.toThrow(/ENOSPC|no space/i);
  expect((await readFile(onTmpfs)).equals(before)).toBe(true);
  expect((await readdir(disk)).sort()).toEqual(['transfer_progress.json', 'transfer_progress.lock']);

  // Room again: the store writes on.
  await store.update(created.id, (d) => void (d.notes = ['short']));
  expect((await readProgressFile(onTmpfs)).active_transfers[0]!.notes).toEqual(['short']);
  await store.close();
});
