/**
 * A progress file the disk refuses to write (full, read-only, immutable) pauses transfers
 * instead of stranding them: the progress message and /status say why, /resume works, the
 * transfer resumes by itself once a write succeeds, and nothing is posted twice or lost —
 * also across a SIGTERM while paused. The progress file lives on a tmpfs of the test's own
 * (root only; the tests skip with the reason elsewhere).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { heldAnswer, holdAfterParts } from '../support/held.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedManifests, postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { immutableSupported, mountTmpfs, type Tmpfs } from '../support/tmpfs.js';
import { MIB } from '../support/units.js';
import { sleep } from '../support/wait.js';

const MESSAGES = 'POST /channels/:id/messages';
const PARTS = 10;
const WAIT_MS = 30_000;
/** Each test runs a bot through a pause and a resume on a loaded 2-core machine. */
const TEST_TIMEOUT_MS = 120_000;

let fx: BotFixture | undefined;
let tmpfs: Tmpfs | undefined;
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
  await tmpfs?.unmount();
  tmpfs = undefined;
});

/**
 * A bot whose progress file is on a fresh 2 MiB tmpfs, and a transfer of PARTS parts whose posts
 * the fake holds once 3 are posted, until `release` (after the test refused the disk): the
 * transfer is mid-way then, however fast the machine.
 */
async function startTransfer(ctx: TestContext): Promise<{ id: string; sha256: string; release: () => void }> {
  const mounted = await mountTmpfs(2 * MIB);
  if ('skip' in mounted) ctx.skip(mounted.skip);
  tmpfs = mounted;
  fx = await startBotFixture({
    progressPath: path.join(tmpfs.dir, 'transfer_progress.json'),
    env: { MAX_CHUNKS_PER_MESSAGE: '1', PROGRESS_EDIT_INTERVAL_MS: '100' },
  });
  const sha256 = await writeSeededFile(path.join(fx.filesRoot, 'data.bin'), PARTS * MIB - 3, 21);
  const held = holdAfterParts(fx.fake, 3);
  const id = await fx.split('data.bin', { chunkSizeMiB: 1 });
  const t = await fx.waitForParts(id, 3);
  expect(t.status).toBe('in_progress');
  return { id, sha256, release: held.release };
}

/** Waits for the `n`-th transfer_paused line of `id`; returns its reason. */
async function pausedTimes(id: string, n: number): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  let lines = fx!.bot.logs.filter((l) => l.event === 'transfer_paused' && l.transfer_id === id);
  while (lines.length < n && Date.now() < deadline) {
    await sleep(20);
    lines = fx!.bot.logs.filter((l) => l.event === 'transfer_paused' && l.transfer_id === id);
  }
  if (lines.length < n) throw new Error(`transfer ${id} was not paused ${n} time(s) within ${WAIT_MS} ms`);
  return String(lines[n - 1]!.reason);
}

/**
 * Fills the tmpfs, lets the held posts go (`release`), and tops the tmpfs up until the bot
 * pauses: a write in flight may free a little.
 */
async function fillUntilPaused(id: string, release: () => void): Promise<string> {
  const paused = pausedTimes(id, 1);
  let done = false;
  void paused.finally(() => (done = true)).catch(() => {});
  for (let i = 0; i < 200 && !done; i++) {
    await tmpfs!.fill();
    release();
    await sleep(25);
  }
  return paused;
}

/**
 * The transfer's progress message once it contains `text`. Found in the channel, not through
 * the progress file: its id may be one of the changes the disk has not taken yet.
 */
async function progressMessageWith(id: string, text: string): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  let content = '';
  while (Date.now() < deadline) {
    const progress = fx!.fake.messages().filter((m) => m.interactionId === undefined && m.attachments.length === 0 && m.content.includes(id));
    expect(progress.length).toBeLessThanOrEqual(1);
    content = progress[0]?.content ?? '';
    if (content.includes(text)) return content;
    await sleep(50);
  }
  throw new Error(`the progress message of ${id} never said "${text}"; last: ${content}`);
}

async function statusOf(id: string): Promise<string> {
  const handle = await fx!.command({ name: 'status', options: [{ name: 'transfer', type: 3, value: id }] });
  await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
  return handle.original()?.content ?? '';
}

/** Complete, byte for byte, each part posted once, one manifest. */
async function expectCompleteOnce(id: string, sha256: string): Promise<void> {
  const t = await fx!.waitForStatus(id, ['complete', 'error', 'cancelled'], 60_000);
  expect(t.status, t.notes.join('; ')).toBe('complete');
  const names = postedPartNames(fx!.fake, id);
  expect(new Set(names).size, `posted twice: ${names.join(', ')}`).toBe(names.length);
  expect(names).toHaveLength(PARTS);
  expect(rebuildFromFake(fx!.fake, id).sha256).toBe(sha256);
  expect(postedManifests(fx!.fake, id)).toHaveLength(1);
}

describe('a progress file the disk refuses to write', () => {
  it(
    'GIVEN the disk fills up after part 3 THEN the transfer pauses saying so, and once the filler is removed it resumes by itself and completes',
    { timeout: TEST_TIMEOUT_MS },
    async (ctx) => {
      const { id, sha256, release } = await startTransfer(ctx);
      expect(await fillUntilPaused(id, release)).toBe('disk full');
      const said = 'paused: cannot write the progress file (disk full)';
      expect(await progressMessageWith(id, said)).toMatch(/interrupted/);
      const status = await statusOf(id);
      expect(status).toContain(said);
      expect(status).toContain('**interrupted**');
      // The file keeps its last good state meanwhile; the transfer is no longer running.
      expect((await fx!.transfer(id)).status).toBe('in_progress');
      // A new transfer cannot be recorded now, and the user is told so.
      await writeSeededFile(path.join(fx!.filesRoot, 'other.bin'), MIB, 5);
      const refused = await fx!.command({
        name: 'split',
        permissions: PERMISSIONS.ADMINISTRATOR,
        options: [{ name: 'path', type: 3, value: 'other.bin' }],
      });
      // /split acknowledged publicly before recording: the refusal comes privately, the placeholder goes.
      type Shown = { content?: string; flags?: number };
      const told = () => (refused.followUps() as Shown[]).find((m) => /progress file/.test(m.content ?? ''));
      await refused.waitFor(() => told() !== undefined && refused.original() === undefined, 10_000);
      expect(told()?.content).toBe('The bot cannot write its progress file right now (disk full). Nothing was recorded; please try again later.');
      expect((told()?.flags ?? 0) & 64).toBe(64);

      await rm(path.join(tmpfs!.dir, 'filler'));
      await expectCompleteOnce(id, sha256);
      expect((await fx!.readProgress()).active_transfers.map((t) => t.id)).toEqual([id]);
      expect(fx!.bot.logs.some((l) => l.event === 'transfer_resumed' && l.transfer_id === id)).toBe(true);
      // Each run after the first is a resume after a write succeeded. A freed block (the previous
      // version unlinked) can let one write through before the disk is full again, so there may
      // be more than one pause and resume; never a start without a resume.
      const starts = fx!.bot.logs.filter((l) => l.event === 'transfer_started' && l.transfer_id === id);
      const resumes = fx!.bot.logs.filter((l) => l.event === 'transfer_resumed' && l.transfer_id === id);
      expect(starts.length).toBeGreaterThanOrEqual(2);
      expect(starts).toHaveLength(1 + resumes.length);
      expect(fx!.bot.logs.some((l) => l.msg === 'transfer run failed unexpectedly')).toBe(false);
      expect(unexpectedErrors(fx!.bot)).toEqual([]);
    },
  );

  const conditions = [
    { name: 'remounted read-only', said: 'read-only', refuse: (t: Tmpfs) => t.readOnly(true), allow: (t: Tmpfs) => t.readOnly(false) },
    { name: 'made immutable (chattr +i)', said: 'not permitted', refuse: (t: Tmpfs) => t.immutable(true), allow: (t: Tmpfs) => t.immutable(false) },
  ];
  it.for(conditions)(
    'GIVEN the folder is $name after part 3 THEN the transfer pauses; /resume while it still is pauses again and says so; once undone it resumes by itself and completes',
    { timeout: TEST_TIMEOUT_MS },
    async ({ said, refuse, allow, name }, ctx) => {
      const { id, sha256, release } = await startTransfer(ctx);
      if (name.includes('chattr')) {
        const unsupported = await immutableSupported(tmpfs!);
        if (unsupported) ctx.skip(unsupported);
      }
      await refuse(tmpfs!);
      release();
      expect(await pausedTimes(id, 1)).toBe(said);
      await progressMessageWith(id, `paused: cannot write the progress file (${said})`);

      const resume = await fx!.command({
        name: 'resume',
        permissions: PERMISSIONS.ADMINISTRATOR,
        options: [{ name: 'transfer', type: 3, value: id }],
      });
      await resume.waitFor((h) => Boolean(h.original()?.content), 5_000);
      expect(resume.original()?.content).toMatch(/Resuming/);
      expect(resume.original()?.content).toContain(`cannot be written right now (${said})`);
      expect(await pausedTimes(id, 2)).toBe(said);
      expect(await statusOf(id)).toContain(`paused: cannot write the progress file (${said})`);

      await allow(tmpfs!);
      await expectCompleteOnce(id, sha256);
      expect(fx!.bot.logs.filter((l) => l.event === 'transfer_started' && l.transfer_id === id)).toHaveLength(3);
      expect(unexpectedErrors(fx!.bot)).toEqual([]);
    },
  );

  it(
    'GIVEN the disk fills up while the progress message of a new transfer is being posted THEN that message still says it paused, and the transfer resumes by itself',
    { timeout: TEST_TIMEOUT_MS },
    async (ctx) => {
      const mounted = await mountTmpfs(2 * MIB);
      if ('skip' in mounted) ctx.skip(mounted.skip);
      tmpfs = mounted as Tmpfs;
      fx = await startBotFixture({ progressPath: path.join(tmpfs.dir, 'transfer_progress.json'), env: { MAX_CHUNKS_PER_MESSAGE: '1' } });
      const sha256 = await writeSeededFile(path.join(fx.filesRoot, 'data.bin'), PARTS * MIB - 3, 22);
      // The first message is the progress message: held until the disk is full.
      const held = heldAnswer();
      fx.fake.faults.add({ route: MESSAGES, kind: 'hold', until: held.hold, times: 1 });
      const id = await fx.split('data.bin', { chunkSizeMiB: 1 });
      expect(await fillUntilPaused(id, held.release)).toBe('disk full');
      await progressMessageWith(id, 'paused: cannot write the progress file (disk full) after 0 of 10 parts');
      expect(postedPartNames(fx.fake, id)).toEqual([]);
      await rm(path.join(tmpfs.dir, 'filler'));
      await expectCompleteOnce(id, sha256);
    },
  );

  it(
    'GIVEN a transfer paused on a full disk WHEN SIGTERM arrives THEN the bot exits 0 promptly, and after the disk is freed a restart completes it without posting twice',
    { timeout: TEST_TIMEOUT_MS },
    async (ctx) => {
      const { id, sha256, release } = await startTransfer(ctx);
      expect(await fillUntilPaused(id, release)).toBe('disk full');
      const started = Date.now();
      fx!.bot.child.kill('SIGTERM');
      expect((await fx!.bot.exited).code).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(fx!.bot.logs.some((l) => l.msg === 'stopped')).toBe(true);
      // Still the last good state: the parts recorded before the disk filled.
      expect((await fx!.transfer(id)).status).toBe('in_progress');

      await rm(path.join(tmpfs!.dir, 'filler'));
      await fx!.restartBot();
      await expectCompleteOnce(id, sha256);
    },
  );
});
