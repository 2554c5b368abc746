/**
 * A disk that refuses writes (full, read-only, immutable, failing) loses nothing: the store
 * keeps the refused changes in memory, says why with DiskWriteError, and writes them once the
 * disk allows (a probe with bounded backoff), telling its listeners.
 *
 * Two ways in: an injected EIO from the stat the store makes before every write (works
 * anywhere, and does not depend on how the durable write itself is done), and real file
 * systems (a tmpfs filled up, remounted read-only, made immutable; root only).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { DiskWriteError } from '../../src/errors.js';
import { FileStore } from '../../src/store/file-store.js';
import { readProgressFile } from '../../src/store/parse.js';
import { probeDelayMs } from '../../src/store/refusal.js';
import { immutableSupported, mountTmpfs, type Tmpfs } from '../support/tmpfs.js';
import { failStat, makeTempDir, samplePart, sampleTransfer } from './helpers.js';

/** Fast probes for tests: the backoff itself is checked through probeDelayMs. */
const PROBE = { firstMs: 10, maxMs: 100 } as const;
const WAIT_MS = 10_000;

/** Resolves at the store's next successful write after a refusal; rejects after WAIT_MS. */
function nextWritable(store: FileStore): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the store did not write again within ${WAIT_MS} ms`)), WAIT_MS);
    store.onWritable(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('a write the disk refuses (injected EIO)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let file: string;
  let store: FileStore | undefined;
  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir());
    file = path.join(dir, 'transfer_progress.json');
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await store?.close();
    store = undefined;
    await cleanup();
  });

  test('GIVEN the disk refuses an update THEN the caller gets DiskWriteError, the change stays in memory and on top of the last good file, and the probe writes it once the disk allows', async () => {
    store = await FileStore.open(file, { probe: PROBE });
    const created = await store.create(sampleTransfer());
    await store.update(created.id, (d) => void d.parts.push(samplePart(0)));
    const before = await readFile(file);

    const restore = failStat(file);
    const error = await store.update(created.id, (d) => void d.parts.push(samplePart(1))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiskWriteError);
    expect(error).toMatchObject({ errno: 'EIO', condition: 'I/O error', kept: true, file });
    expect(store.refusal).toMatchObject({ errno: 'EIO', condition: 'I/O error' });
    // Later changes build on the kept one and are held with it.
    await expect(store.update(created.id, (d) => void d.parts.push(samplePart(2)))).rejects.toThrow(DiskWriteError);
    expect(store.get(created.id)!.parts.map((p) => p.index)).toEqual([0, 1, 2]);
    expect((await readFile(file)).equals(before)).toBe(true);

    const writable = nextWritable(store);
    restore();
    await writable;
    expect(store.refusal).toBeUndefined();
    expect((await readProgressFile(file)).active_transfers[0]!.parts.map((p) => p.index)).toEqual([0, 1, 2]);
    // And the store goes on as before.
    await store.update(created.id, (d) => void d.parts.push(samplePart(3)));
    expect((await readProgressFile(file)).active_transfers[0]!.parts.map((p) => p.index)).toEqual([0, 1, 2, 3]);
  });

  test('GIVEN changes are held WHEN another change arrives and the disk allows it THEN one write carries them all', async () => {
    store = await FileStore.open(file, { probe: { firstMs: 60_000, maxMs: 60_000 } });
    const created = await store.create(sampleTransfer());
    const restore = failStat(file);
    await expect(store.update(created.id, (d) => void d.parts.push(samplePart(0)))).rejects.toThrow(DiskWriteError);
    restore();
    const writable = nextWritable(store);
    // The probe is a minute away: the caller's own write is what tries the disk again.
    const saved = await store.update(created.id, (d) => void d.parts.push(samplePart(1)));
    await writable;
    expect(saved.parts.map((p) => p.index)).toEqual([0, 1]);
    expect((await readProgressFile(file)).active_transfers[0]!.parts.map((p) => p.index)).toEqual([0, 1]);
  });

  test('GIVEN the disk refuses a new transfer THEN nothing is recorded, the caller is told it was not kept, and nothing is left to probe', async () => {
    store = await FileStore.open(file, { probe: PROBE });
    const restore = failStat(file);
    const error = await store.create(sampleTransfer()).catch((e: unknown) => e);
    restore();
    expect(error).toBeInstanceOf(DiskWriteError);
    expect(error).toMatchObject({ kept: false, condition: 'I/O error' });
    expect(store.list()).toEqual([]);
    // Nothing happened that must be remembered: the caller may simply try again.
    const created = await store.create(sampleTransfer());
    expect((await readProgressFile(file)).active_transfers).toEqual([created]);
  });

  test('GIVEN changes are held WHEN the store closes and the disk allows THEN close writes them before releasing the lock', async () => {
    store = await FileStore.open(file, { probe: { firstMs: 60_000, maxMs: 60_000 } });
    const created = await store.create(sampleTransfer());
    const restore = failStat(file);
    await expect(store.update(created.id, (d) => void d.parts.push(samplePart(0)))).rejects.toThrow(DiskWriteError);
    restore();
    await store.close();
    expect(store.refusal).toBeUndefined();
    expect((await readProgressFile(file)).active_transfers[0]!.parts.map((p) => p.index)).toEqual([0]);
    expect(await readdir(dir)).toEqual(['transfer_progress.json']);
  });

  test('GIVEN changes are held WHEN the store closes and the disk still refuses THEN close ends anyway, keeps the last good file and releases the lock', async () => {
    store = await FileStore.open(file, { probe: PROBE });
    const created = await store.create(sampleTransfer());
    const before = await readFile(file);
    failStat(file);
    await expect(store.update(created.id, (d) => void d.parts.push(samplePart(0)))).rejects.toThrow(DiskWriteError);
    await store.close();
    vi.restoreAllMocks();
    expect(store.refusal).toMatchObject({ condition: 'I/O error' });
    expect((await readFile(file)).equals(before)).toBe(true);
    expect(await readdir(dir)).toEqual(['transfer_progress.json']);
  });

  test('GIVEN refusals in a row THEN the probe waits twice as long each time, up to its cap', () => {
    const delays = Array.from({ length: 12 }, (_, n) => probeDelayMs(n + 1, { firstMs: 500, maxMs: 30_000 }));
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000]);
    expect(probeDelayMs(10_000, { firstMs: 500, maxMs: 30_000 })).toBe(30_000);
  });
});

describe('real disks that refuse writes', () => {
  let tmpfs: Tmpfs | undefined;
  let store: FileStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await tmpfs?.unmount();
    tmpfs = undefined;
  });

  type Condition = { name: string; errno: string[]; condition: string; refuse: (t: Tmpfs) => Promise<void>; allow: (t: Tmpfs) => Promise<void> };
  const conditions: Condition[] = [
    { name: 'a full tmpfs', errno: ['ENOSPC'], condition: 'disk full', refuse: (t) => t.fill(), allow: (t) => rm(path.join(t.dir, 'filler')) },
    {
      name: 'a tmpfs remounted read-only',
      errno: ['EROFS'],
      condition: 'read-only',
      refuse: (t) => t.readOnly(true),
      allow: (t) => t.readOnly(false),
    },
    {
      name: 'a folder made immutable (chattr +i)',
      errno: ['EPERM'],
      condition: 'not permitted',
      refuse: (t) => t.immutable(true),
      allow: (t) => t.immutable(false),
    },
  ];

  test.for(conditions)(
    'GIVEN $name THEN updates are held with the right condition, and written once it is undone',
    async ({ errno, condition, refuse, allow, name }, ctx) => {
      const mounted = await mountTmpfs(256 * 1024);
      if ('skip' in mounted) return ctx.skip(mounted.skip);
      tmpfs = mounted;
      if (name.includes('chattr')) {
        const unsupported = await immutableSupported(tmpfs);
        if (unsupported) return ctx.skip(unsupported);
      }
      const file = path.join(tmpfs.dir, 'transfer_progress.json');
      store = await FileStore.open(file, { probe: PROBE });
      const created = await store.create(sampleTransfer());
      await store.update(created.id, (d) => void d.parts.push(samplePart(0)));
      const before = await readFile(file);

      await refuse(tmpfs);
      const error = await store.update(created.id, (d) => void d.parts.push(samplePart(1))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DiskWriteError);
      expect(errno).toContain((error as DiskWriteError).errno);
      expect((error as DiskWriteError).condition).toBe(condition);
      await expect(store.setStatus(created.id, 'in_progress')).rejects.toThrow(DiskWriteError);
      expect(store.get(created.id)).toMatchObject({ status: 'in_progress', parts: [{ index: 0 }, { index: 1 }] });
      expect((await readFile(file)).equals(before)).toBe(true);

      const writable = nextWritable(store);
      await allow(tmpfs);
      await writable;
      const onDisk = (await readProgressFile(file)).active_transfers[0]!;
      expect(onDisk.status).toBe('in_progress');
      expect(onDisk.parts.map((p) => p.index)).toEqual([0, 1]);
      // No temp file or second name left behind by the refused writes.
      expect((await readdir(tmpfs.dir)).filter((f) => f !== 'filler').sort()).toEqual(['transfer_progress.json', 'transfer_progress.lock']);
    },
  );
});
