/** The advisory lock beside the progress file (TRANSFER_PROGRESS_FORMAT.md, 'Write policy'). */
import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { LockedError } from '../../src/errors.js';
import { FileStore } from '../../src/store/file-store.js';
import { acquireLock, lockPathFor } from '../../src/store/lock.js';
import { startFixture, type Child } from './child.js';
import { makeTempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let file: string;
let lockFile: string;
let child: Child | undefined;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
  file = path.join(dir, 'transfer_progress.json');
  lockFile = path.join(dir, 'transfer_progress.lock');
});
afterEach(async () => {
  if (child && child.process.exitCode === null && child.process.signalCode === null) {
    child.process.kill('SIGKILL');
    await child.exited;
  }
  child = undefined;
  await cleanup();
});

/** A pid that certainly belonged to a process which has exited. */
function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', ''], { timeout: 10_000 });
  expect(result.pid).toBeGreaterThan(0);
  return result.pid;
}

describe('lockPathFor', () => {
  test('GIVEN a .json path THEN the lock replaces .json with .lock; other names get .lock appended', () => {
    expect(lockPathFor('/data/transfer_progress.json')).toBe('/data/transfer_progress.lock');
    expect(lockPathFor('/data/progress')).toBe('/data/progress.lock');
  });
});

describe('FileStore lock', () => {
  test('GIVEN another live process has the file open THEN open refuses with LockedError naming its pid and the file', async () => {
    child = await startFixture('hold-lock.ts', [file]);
    const pid = child.process.pid!;
    const error = await FileStore.open(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockedError);
    expect((error as Error).message).toContain(`pid ${pid}`);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/stop it first/);
    // The refusal did not disturb the holder's lock.
    expect(JSON.parse(await readFile(lockFile, 'utf8')).pid).toBe(pid);
  });

  test('GIVEN the holder closes cleanly THEN its lock file is gone and the next open succeeds', async () => {
    child = await startFixture('hold-lock.ts', [file]);
    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
    expect(await readdir(dir)).toEqual(['transfer_progress.json']);
    const store = await FileStore.open(file);
    await store.close();
  });

  test('GIVEN the holder was SIGKILLed THEN the next open takes its lock over at once', async () => {
    child = await startFixture('hold-lock.ts', [file]);
    const pid = child.process.pid!;
    child.process.kill('SIGKILL');
    await child.exited;
    expect(JSON.parse(await readFile(lockFile, 'utf8')).pid).toBe(pid);
    const store = await FileStore.open(file);
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ pid: process.pid });
    await store.close();
  });

  test('GIVEN a lock file from this host naming a dead pid THEN open takes it over and writes its own pid, hostname and start time', async () => {
    await writeFile(lockFile, JSON.stringify({ pid: deadPid(), hostname: os.hostname(), started_at: '2020-01-01T00:00:00Z' }));
    const store = await FileStore.open(file);
    const info = JSON.parse(await readFile(lockFile, 'utf8'));
    expect(info.pid).toBe(process.pid);
    expect(typeof info.hostname).toBe('string');
    expect(Number.isNaN(Date.parse(info.started_at))).toBe(false);
    await store.close();
  });

  test.each([
    ['a dead pid', () => deadPid()],
    ['a live pid (this very process)', () => process.pid],
  ])(
    'GIVEN a lock written on another host with %s THEN open refuses, names the host and says how to remove the lock by hand, and leaves it alone',
    async (_what, pid) => {
      const theirs = JSON.stringify({ pid: pid(), hostname: `not-${os.hostname()}`, started_at: '2030-01-01T00:00:00.000Z' });
      await writeFile(lockFile, theirs);
      const error = await FileStore.open(file).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockedError);
      const message = (error as Error).message;
      expect(message).toContain(`not-${os.hostname()}`);
      expect(message).toContain(lockFile);
      expect(message).toMatch(/remove .* by hand/);
      expect(await readFile(lockFile, 'utf8')).toBe(theirs);
      expect((await readdir(dir)).sort()).toEqual(['transfer_progress.lock']);
    },
  );

  test('GIVEN a lock without a hostname naming a dead pid THEN it is judged on this host and taken over', async () => {
    await writeFile(lockFile, JSON.stringify({ pid: deadPid(), started_at: '2020-01-01T00:00:00Z' }));
    const store = await FileStore.open(file);
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ pid: process.pid, hostname: os.hostname() });
    await store.close();
  });

  test('GIVEN another host is taking over a garbage lock (its guard is present) THEN open leaves its guard alone and refuses, saying how to remove it by hand', async () => {
    const guard = `${lockFile}.takeover`;
    const guardContent = JSON.stringify({ pid: deadPid(), hostname: `not-${os.hostname()}` });
    await writeFile(lockFile, 'garbage');
    await writeFile(guard, guardContent);
    const error = await FileStore.open(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockedError);
    expect((error as Error).message).toMatch(new RegExp(`remove ${guard.replaceAll('.', '\\.')} by hand`));
    expect(await readFile(guard, 'utf8')).toBe(guardContent);
    expect(await readFile(lockFile, 'utf8')).toBe('garbage');
  });

  test.each([
    ['garbage', 'not json at all'],
    ['an empty file', ''],
    ['a pid of 0', JSON.stringify({ pid: 0 })],
    ['a negative pid', JSON.stringify({ pid: -1 })],
    ['no pid', JSON.stringify({ hostname: 'x' })],
  ])('GIVEN a lock file with %s THEN open takes it over', async (_what, content) => {
    await writeFile(lockFile, content);
    const store = await FileStore.open(file);
    expect(JSON.parse(await readFile(lockFile, 'utf8')).pid).toBe(process.pid);
    await store.close();
  });

  test('GIVEN the file is already open in this process THEN a second open refuses, and succeeds after close', async () => {
    const first = await FileStore.open(file);
    await expect(FileStore.open(file)).rejects.toThrow(LockedError);
    await first.close();
    expect(await readdir(dir)).toEqual(['transfer_progress.json']);
    const second = await FileStore.open(file);
    await second.close();
  });

  test('GIVEN our lock was replaced by someone else THEN close leaves their lock alone', async () => {
    const store = await FileStore.open(file);
    const theirs = JSON.stringify({ pid: 424242, hostname: 'other', started_at: '2030-01-01T00:00:00Z' });
    await writeFile(lockFile, theirs);
    await store.close();
    expect(await readFile(lockFile, 'utf8')).toBe(theirs);
  });

  test('GIVEN lock: false THEN no lock file is made and a locked file can still be opened', async () => {
    const owner = await FileStore.open(file);
    const reader = await FileStore.open(file, { lock: false });
    await reader.close();
    expect((await readdir(dir)).sort()).toEqual(['transfer_progress.json', 'transfer_progress.lock']);
    await owner.close();
    expect(await readdir(dir)).toEqual(['transfer_progress.json']);
  });

  test("GIVEN two processes start together on a dead holder's lock THEN exactly one of them gets it", async () => {
    await writeFile(lockFile, JSON.stringify({ pid: deadPid(), hostname: os.hostname(), started_at: '2020-01-01T00:00:00Z' }));
    const results = await Promise.allSettled([startFixture('hold-lock.ts', [file]), startFixture('hold-lock.ts', [file])]);
    const winners = results.filter((r): r is PromiseFulfilledResult<Child> => r.status === 'fulfilled');
    const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    try {
      expect(winners).toHaveLength(1);
      expect(String(losers[0]!.reason)).toMatch(/LockedError/);
      expect(JSON.parse(await readFile(lockFile, 'utf8')).pid).toBe(winners[0]!.value.process.pid);
    } finally {
      for (const w of winners) {
        w.value.process.kill('SIGKILL');
        await w.value.exited;
      }
    }
  });

  test('GIVEN two opens race in one process THEN exactly one gets the lock', async () => {
    for (let round = 0; round < 10; round++) {
      await writeFile(lockFile, JSON.stringify({ pid: deadPid(), hostname: os.hostname(), started_at: '2020-01-01T00:00:00Z' }));
      const results = await Promise.allSettled([acquireLock(file), acquireLock(file)]);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>).value.release();
    }
  });

  test('GIVEN close is called twice THEN the second call is harmless', async () => {
    const store = await FileStore.open(file);
    await store.close();
    await store.close();
    expect(await readdir(dir)).toEqual(['transfer_progress.json']);
  });
});
