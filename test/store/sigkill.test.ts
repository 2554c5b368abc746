/**
 * Crash safety: a child writing as fast as it can is SIGKILLed at a (seeded) random moment,
 * eight times. Each time the file must parse and pass the schema, keep every change it held
 * before, and the next open must take over the dead child's lock.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { FileStore } from '../../src/store/file-store.js';
import { readProgressFile } from '../../src/store/parse.js';
import { startFixture, type Child } from './child.js';
import { makeTempDir, seededRandom } from './helpers.js';

const ROUNDS = 8;
const MAX_KILL_DELAY_MS = 150;
const ID = 'upload_crash01';

let dir: string;
let cleanup: () => Promise<void>;
let running: Child | undefined;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(async () => {
  if (running && running.process.exitCode === null && running.process.signalCode === null) {
    running.process.kill('SIGKILL');
    await running.exited;
  }
  await cleanup();
});

test('GIVEN a writer SIGKILLed mid-write 8 times THEN the file always parses, loses no saved change, and the lock is taken over', async () => {
  const file = path.join(dir, 'transfer_progress.json');
  const random = seededRandom(20240611);
  let previousCount = 0;

  for (let round = 0; round < ROUNDS; round++) {
    running = await startFixture('hammer.ts', [file, ID]);
    await sleep(Math.floor(random() * MAX_KILL_DELAY_MS));
    running.process.kill('SIGKILL');
    const { signal } = await running.exited;
    // A child that finished all its bursts before the kill exited on its own: still fine.
    expect(signal === 'SIGKILL' || running.process.exitCode === 0).toBe(true);

    const data = await readProgressFile(file); // throws StoreError if damaged
    const transfer = data.active_transfers.find((t) => t.id === ID)!;
    expect(transfer).toBeDefined();
    const count = transfer.completed_chunks.length;
    expect(transfer.completed_chunks).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(transfer.bytes_done).toBe(count);
    expect(count).toBeGreaterThanOrEqual(previousCount);
    previousCount = count;
  }

  // The last child's lock (pid now dead) does not block us, and its temp files are swept.
  const store = await FileStore.open(file);
  expect(store.get(ID)!.completed_chunks).toHaveLength(previousCount);
  expect((await readdir(dir)).sort()).toEqual(['transfer_progress.json', 'transfer_progress.lock']);
  await store.close();
  expect(await readdir(dir)).toEqual(['transfer_progress.json']);
}, 60_000);
