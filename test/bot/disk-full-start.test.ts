/**
 * The bot starts on a disk too full to rewrite its progress file: the start-up writes (the
 * prune of old transfers, marking what a killed bot left running as interrupted) are held
 * like every other refused write instead of ending the process, so a supervisor sees no crash
 * loop. The bot answers /status meanwhile, and once space returns the held writes land and
 * the interrupted transfer resumes and completes. The progress file lives on a tmpfs of the
 * test's own (root only; the test skips with the reason elsewhere).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/store/file-store.js';
import { sampleTransfer, samplePart } from '../store/helpers.js';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { exitWithin } from '../support/bot-process.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedManifests, postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';
import { MIB } from '../support/units.js';

const PAGE = 4096; // bytes
const MESSAGES = 'POST /channels/:id/messages';
const PARTS = 4;
/** Part records enough that the progress file takes more pages than the disk is left with. */
const BULK_PARTS = 120;

let fx: BotFixture | undefined;
let tmpfs: Tmpfs | undefined;
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
  await tmpfs?.unmount();
  tmpfs = undefined;
});

/** Records transfers straight into the progress file, as an earlier bot would have (the file is not locked by anyone now). */
async function record(file: string, now: () => Date, build: (store: FileStore) => Promise<void>): Promise<void> {
  const store = await FileStore.open(file, { now });
  try {
    await build(store);
  } finally {
    await store.close();
  }
}

/** A cancelled transfer with BULK_PARTS part records: it stays (recent), and makes every rewrite of the file large. */
async function bulkTransfer(store: FileStore): Promise<void> {
  const total = BULK_PARTS;
  await store.create(sampleTransfer('upload_bulk01', { total_chunks: total, file_size: total * 8_000_000 }));
  await store.setStatus('upload_bulk01', 'in_progress');
  await store.update('upload_bulk01', (t) => {
    for (let i = 0; i < total; i++) {
      t.parts.push(samplePart(i));
      t.completed_chunks.push(i);
    }
    t.bytes_done = total * 8_000_000;
  });
  await store.setStatus('upload_bulk01', 'cancelled', 'cancelled by a test');
}

/** A cancelled transfer finished long ago: the start-up prune removes it. */
async function oldTransfer(store: FileStore): Promise<void> {
  await store.create(sampleTransfer('upload_old001'));
  await store.setStatus('upload_old001', 'cancelled', 'cancelled long ago');
}

describe('a bot started while its progress file cannot be rewritten', () => {
  it(
    'GIVEN a transfer left running by a killed bot and a disk with room for the lock only WHEN the bot starts THEN it stays up, /status says the file cannot be written, and once space returns the start-up writes land and the transfer completes, each part posted once',
    { timeout: 150_000 },
    async (ctx) => {
      const mounted = await mountTmpfs(2 * MIB);
      if ('skip' in mounted) ctx.skip(mounted.skip);
      const disk = mounted as Tmpfs;
      tmpfs = disk;
      const progressPath = path.join(disk.dir, 'transfer_progress.json');
      await record(progressPath, () => new Date(), bulkTransfer);

      // A transfer running when its bot is killed: its second message never gets an answer.
      fx = await startBotFixture({ progressPath, env: { MAX_CHUNKS_PER_MESSAGE: '1', PROGRESS_EDIT_INTERVAL_MS: '100' } });
      const sha256 = await writeSeededFile(path.join(fx.filesRoot, 'data.bin'), PARTS * MIB - 5, 31);
      fx.fake.faults.add({ route: MESSAGES, kind: 'hang', after: 1, times: 1_000 });
      const id = await fx.split('data.bin', { chunkSizeMiB: 1 });
      await fx.waitForStatus(id, ['in_progress'], 20_000);
      await fx.bot.kill('SIGKILL');
      fx.fake.faults.clear();
      expect(postedPartNames(fx.fake, id)).toEqual([]);
      await record(progressPath, () => new Date(Date.now() - 400 * 3_600_000), oldTransfer);

      // Room for the lock (a page), not for a new version of the progress file (many pages).
      await disk.fill(path.join(disk.dir, 'filler'), 2 * PAGE);
      const bot = await fx.restartBot();
      const paused = await bot.waitForLog((l) => l.event === 'transfer_paused' && l.transfer_id === id, 30_000);
      expect(paused.reason).toBe('disk full');
      expect(await exitWithin(bot, 0)).toBe('still running');

      const status = await fx.command({ name: 'status', options: [{ name: 'transfer', type: 3, value: id }] });
      await status.waitFor((h) => Boolean(h.original()?.content), 10_000);
      const said = status.original()?.content ?? '';
      expect(said).toContain(id);
      expect(said).toContain('paused: cannot write the progress file (disk full)');
      // Still the last good state: the start-up changes wait in memory.
      expect((await fx.transfer(id)).status).toBe('in_progress');
      expect((await fx.readProgress()).active_transfers.map((t) => t.id)).toContain('upload_old001');

      await rm(path.join(disk.dir, 'filler'));
      const done = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 90_000);
      expect(done.status, done.notes.join('; ')).toBe('complete');
      const names = postedPartNames(fx.fake, id);
      expect(names).toHaveLength(PARTS);
      expect(new Set(names).size, `posted twice: ${names.join(', ')}`).toBe(PARTS);
      expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha256);
      expect(postedManifests(fx.fake, id)).toHaveLength(1);
      expect(done.notes.some((n) => n.startsWith('interrupted: the bot stopped at'))).toBe(true);
      // The prune the disk refused at start-up ran once it could.
      const ids = (await fx.readProgress()).active_transfers.map((t) => t.id);
      expect(ids).not.toContain('upload_old001');
      expect(ids).toContain('upload_bulk01');
      expect(await exitWithin(bot, 0)).toBe('still running');
      expect(unexpectedErrors(bot)).toEqual([]);
    },
  );
});
