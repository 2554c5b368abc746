import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { holdWholeBodyAfterParts, waitUntil } from '../support/held.js';
import { writeSeededFile } from '../support/random-file.js';
import { MIB } from '../support/units.js';

const MESSAGES = 'POST /channels/:id/messages';

describe('/status, /cancel and refusals', () => {
  let fx: BotFixture;
  beforeAll(async () => {
    fx = await startBotFixture({
      // UPLOAD_TIMEOUT_MS at its default: a part held at the fake waits for the test's /cancel, however slow that is.
      env: { MAX_ACTIVE_TRANSFERS: '10', MAX_CHUNKS_PER_MESSAGE: '1', MAX_FILE_SIZE_BYTES: String(40 * MIB), UPLOAD_TIMEOUT_MS: '120000' },
    });
    await writeSeededFile(path.join(fx.filesRoot, 'small.bin'), 3 * MIB, 1);
    await writeSeededFile(path.join(fx.filesRoot, 'slow.bin'), 20 * MIB, 2);
  });
  afterAll(async () => {
    await fx?.stop();
  });

  const partMessages = (id: string) =>
    fx.fake.allMessagesEver().filter((m) => m.content.includes(id) && m.attachments.some((a) => a.filename.includes('.part')));

  /**
   * `/cancel` as an administrator; resolves once the bot says the transfer is cancelled.
   * `release` runs the moment the bot acknowledges the command, before it stops the run: a part
   * held at the fake is then created and answered while the cancel waits for it.
   */
  const cancelAsAdmin = async (id: string, { deletePosted = false, release }: { deletePosted?: boolean; release?: () => void } = {}) => {
    const handle = await fx.fake.sendInteraction({
      name: 'cancel',
      permissions: PERMISSIONS.ADMINISTRATOR,
      options: [{ name: 'transfer', type: 3, value: id }, ...(deletePosted ? [{ name: 'delete_posted', type: 5, value: true }] : [])],
    });
    // Checked as the fake records the callback (the handle exists before any I/O): no poll interval in between.
    if (release) void handle.waitFor((h) => h.callback() !== undefined, 15_000).finally(release);
    // The reply waits for the in-flight upload, up to the 5 s grace when Discord never answers.
    await handle.waitFor((h) => /cancelled/.test(h.original()?.content ?? ''), 15_000);
    return handle;
  };

  /** Holds a part message of the next transfer, its whole body in, once 2 of its parts are posted. */
  const holdThirdPart = async () => {
    const held = holdWholeBodyAfterParts(fx.fake, 2);
    const id = await fx.split('slow.bin', { chunkSizeMiB: 1 });
    await waitUntil(() => held.request() !== undefined, 'a part message held at the fake with its whole body');
    return { id, ...held };
  };

  /** Message creates the fake has whole and may still act on: none once a /cancel has answered. */
  const wholeBodiesPending = () => fx.fake.pendingRequests().filter((r) => r.route === MESSAGES && r.bodyAt !== undefined);

  it('GIVEN a finished transfer THEN /status lists it and /status with its id shows the details ephemerally', async () => {
    const id = await fx.split('small.bin', { chunkSizeMiB: 1 });
    await fx.waitForStatus(id, ['complete']);
    const list = await fx.command({ name: 'status' });
    expect(list.ephemeral()).toBe(true);
    expect(list.original()?.content).toContain(id);
    const one = await fx.command({ name: 'status', options: [{ name: 'transfer', type: 3, value: id }] });
    expect(one.ephemeral()).toBe(true);
    expect(one.original()?.content).toMatch(/complete/);
    expect(one.original()?.content).toMatch(/parts 3\/3/);
    expect(one.original()?.content).toContain('manifest: https://discord.com/channels/');
    const unknown = await fx.command({ name: 'status', options: [{ name: 'transfer', type: 3, value: 'upload_nope123' }] });
    expect(unknown.ephemeral()).toBe(true);
    expect(unknown.original()?.content).toMatch(/No transfer/);
  });

  it('GIVEN files and transfers THEN autocomplete offers matching paths and transfer ids', async () => {
    const paths = await fx.fake.sendInteraction({ type: 4, name: 'split', options: [{ name: 'path', type: 3, value: 'sma', focused: true }] });
    const pathChoices = (await paths.waitForResponse()).data?.choices as { name: string; value: string }[];
    expect(pathChoices.map((c) => c.value)).toEqual(['small.bin']);
    const id = await fx.split('small.bin', { chunkSizeMiB: 1 });
    await fx.waitForStatus(id, ['complete']);
    const transfers = await fx.fake.sendInteraction({
      type: 4,
      name: 'status',
      options: [{ name: 'transfer', type: 3, value: id.slice(0, 10), focused: true }],
    });
    const transferChoices = (await transfers.waitForResponse()).data?.choices as { name: string; value: string }[];
    expect(transferChoices.map((c) => c.value)).toContain(id);
    expect(transferChoices.length).toBeLessThanOrEqual(25);
  });

  it('GIVEN a part with Discord WHEN the owner cancels THEN it is recorded, and nothing is posted after the acknowledgement', async () => {
    const { id, release, request } = await holdThirdPart();
    try {
      const stranger = await fx.command({
        name: 'cancel',
        user: { id: '100000000000000999' },
        permissions: PERMISSIONS.MEMBER,
        options: [{ name: 'transfer', type: 3, value: id }],
      });
      expect(stranger.ephemeral()).toBe(true);
      expect(stranger.original()?.content).toMatch(/Only the member who started/);

      const cancel = await cancelAsAdmin(id, { release });
      expect(cancel.ephemeral()).toBe(true);
      const atAck = partMessages(id).length;
      expect(wholeBodiesPending()).toEqual([]);
      const t = await fx.transfer(id);
      expect(t.status).toBe('cancelled');
      // Every part Discord stored is recorded, the one it held while the cancel waited too.
      expect(t.parts.length).toBe(atAck);
      expect(t.parts.map((p) => p.message_id)).toContain(request()?.messageId);
      // A request the bot cut before its end creates nothing: once the fake has none left, nothing more comes.
      await waitUntil(() => fx.fake.pendingRequests().every((r) => r.route !== MESSAGES), 'no message create left at the fake');
      expect(partMessages(id).length).toBe(atAck);
      expect(atAck).toBeLessThan(20);
    } finally {
      release();
      fx.fake.faults.clear();
    }
  });

  it('GIVEN a running transfer WHEN cancelled with delete_posted THEN its part messages are deleted, not the progress message', async () => {
    const { id, release, request } = await holdThirdPart();
    try {
      const cancel = await cancelAsAdmin(id, { deletePosted: true, release });
      expect(wholeBodiesPending()).toEqual([]);
      const posted = partMessages(id);
      expect(posted.map((m) => m.id)).toContain(request()?.messageId);
      expect(cancel.original()?.content).toContain(`Deleted ${posted.length} part message(s)`);
      const live = fx.fake.messages().filter((m) => m.content.includes(id) && m.attachments.length > 0);
      expect(live).toEqual([]);
      const t = await fx.transfer(id);
      expect(t.status).toBe('cancelled');
      expect(fx.fake.messages().some((m) => m.id === t.progress_message_id)).toBe(true);
    } finally {
      release();
      fx.fake.faults.clear();
    }
  });

  it('GIVEN an upload Discord stored but never answered WHEN cancelled with delete_posted THEN that part message is deleted too', async () => {
    // The progress message and two parts go through; the third part is stored and never answered.
    fx.fake.faults.add({ route: MESSAGES, kind: 'storeThenHang', after: 3, times: 1 });
    try {
      const id = await fx.split('slow.bin', { chunkSizeMiB: 1 });
      const deadline = Date.now() + 20_000;
      while (partMessages(id).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(partMessages(id)).toHaveLength(3);
      const cancel = await cancelAsAdmin(id, { deletePosted: true });
      expect(cancel.original()?.content).toMatch(/Deleted 3 part message/);
      expect(fx.fake.messages().filter((m) => m.content.includes(id) && m.attachments.length > 0)).toEqual([]);
      expect((await fx.transfer(id)).parts).toHaveLength(2);
    } finally {
      fx.fake.faults.clear();
    }
  });

  describe('bad input is refused ephemerally, with no record and no upload', () => {
    beforeAll(async () => {
      await fs.mkdir(path.join(fx.filesRoot, 'folder'));
      await fs.writeFile(path.join(fx.filesRoot, 'empty.bin'), '');
      await fs.symlink('/etc/hostname', path.join(fx.filesRoot, 'escape-link'));
      await writeSeededFile(path.join(fx.filesRoot, 'huge.bin'), 41 * MIB, 3);
    });

    const cases: [string, { path: string; chunk?: number; permissions?: bigint; appPermissions?: bigint }, RegExp][] = [
      ['../../etc/passwd', { path: '../../etc/passwd' }, /outside the files folder/],
      ['an absolute path outside FILES_ROOT', { path: '/etc/passwd' }, /Absolute paths are not accepted/],
      ['a symlink that points outside', { path: 'escape-link' }, /points outside the files folder/],
      ['a directory', { path: 'folder' }, /is a directory/],
      ['a missing file', { path: 'nope.bin' }, /No such file/],
      ['an empty file', { path: 'empty.bin' }, /is empty/],
      ['a chunk_size of 0', { path: 'small.bin', chunk: 0 }, /chunk_size must be .* 1 to 10 .*10 MiB/],
      ['a negative chunk_size', { path: 'small.bin', chunk: -5 }, /chunk_size must be/],
      ['a chunk_size above the limit', { path: 'small.bin', chunk: 11 }, /limit is 10 MiB/],
      ['a file above MAX_FILE_SIZE_BYTES', { path: 'huge.bin' }, /above this bot's limit/],
      ['a member without permission', { path: 'small.bin', permissions: PERMISSIONS.MEMBER }, /not allowed to start transfers/],
      ['a channel where the bot cannot attach files', { path: 'small.bin', appPermissions: PERMISSIONS.MEMBER & ~(1n << 15n) }, /lack AttachFiles/],
    ];

    it.each(cases)('GIVEN %s THEN it is refused', async (_label, input, message) => {
      const before = (await fx.readProgress()).active_transfers.length;
      const posts = fx.fake.requests.filter((r) => r.route === MESSAGES).length;
      const handle = await fx.command({
        name: 'split',
        permissions: input.permissions ?? PERMISSIONS.ADMINISTRATOR,
        ...(input.appPermissions === undefined ? {} : { appPermissions: input.appPermissions }),
        options: [
          { name: 'path', type: 3, value: input.path },
          ...(input.chunk === undefined ? [] : [{ name: 'chunk_size', type: 4, value: input.chunk }]),
        ],
      });
      await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
      expect(handle.ephemeral()).toBe(true);
      expect(handle.original()?.content).toMatch(message);
      expect((await fx.readProgress()).active_transfers.length).toBe(before);
      expect(fx.fake.requests.filter((r) => r.route === MESSAGES).length).toBe(posts);
    });
  });

  it('GIVEN all of the above THEN the bot logged no error', () => {
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});
