/**
 * PARTS_IN=thread where the bot's permissions matter (README, 'Parts in a thread'): without
 * Create Public Threads the parts go to the channel and the progress message says why;
 * `/cancel delete_posted` deletes the thread with Manage Threads, and its messages one by one
 * without. The bot as its own process against the fake Discord.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { BOT_PERMISSIONS } from '../support/fake-discord/util.js';
import { holdAfterParts, waitUntil } from '../support/held.js';
import { writeSeededFile } from '../support/random-file.js';
import { expectInChannel } from '../support/threads.js';
import { MIB } from '../support/units.js';

const GUILD = '1320000000000000001';
const GENERAL = '1320000000000000002';
const NO_THREADS = '1320000000000000003';
const CREATE_PUBLIC_THREADS = 1n << 35n;
const MANAGE_THREADS = 1n << 34n;

/** A transfer held after its second part, then `/cancel delete_posted:true`; the reply's text and the record. */
async function cancelMidway(fx: BotFixture, name: string, seed: number) {
  await writeSeededFile(path.join(fx.filesRoot, name), 5 * MIB, seed);
  const held = holdAfterParts(fx.fake, fx.fake.messages().filter((m) => m.attachments.length > 0).length + 2);
  const id = await fx.split(name, { chunkSizeMiB: 1, channelId: GENERAL });
  await waitUntil(() => fx.fake.pendingRequests().some((r) => r.fault === 'hold'), 'a part held after two');
  const threadId = (await fx.transfer(id)).threads[0]!.id;
  const handle = await fx.command({
    name: 'cancel',
    permissions: PERMISSIONS.ADMINISTRATOR,
    channelId: GENERAL,
    options: [
      { name: 'transfer', type: 3, value: id },
      { name: 'delete_posted', type: 5, value: true },
    ],
  });
  held.release();
  await handle.waitFor((h) => /cancelled/.test(h.original()?.content ?? ''), 30_000);
  return { id, threadId, reply: handle.original()?.content ?? '', t: await fx.transfer(id) };
}

describe('GIVEN PARTS_IN=thread, a channel where the bot may not make threads, and Manage Threads', () => {
  let fx: BotFixture;

  beforeAll(async () => {
    fx = await startBotFixture({
      fake: {
        guildId: GUILD,
        botPermissions: BigInt(BOT_PERMISSIONS) | MANAGE_THREADS,
        channels: [
          { id: GENERAL, name: 'general' },
          { id: NO_THREADS, name: 'no-threads', permissionOverwrites: [{ id: GUILD, type: 'role', deny: CREATE_PUBLIC_THREADS }] },
        ],
      },
      env: { PARTS_IN: 'thread', MAX_CHUNKS_PER_MESSAGE: '1', MAX_ACTIVE_TRANSFERS: '10' },
    });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('WHEN a /split goes to the channel without Create Public Threads THEN its parts go to the channel and the progress message says why', async () => {
    const file = await writeSeededFile(path.join(fx.filesRoot, 'fallback.bin'), 2 * MIB + 1, 71);
    const id = await fx.split('fallback.bin', { chunkSizeMiB: 1, channelId: NO_THREADS });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    await expectInChannel(fx, t, NO_THREADS, 3, file, 'parts go to the channel, not a thread: the bot lacks CreatePublicThreads there');
  });

  it('WHEN Discord refuses to make the thread (403 Missing Permissions) though the bot seemed allowed THEN the parts go to the channel and the note says so', async () => {
    fx.fake.faults.add({
      route: 'POST /channels/:id/messages/:mid/threads',
      kind: 'status',
      status: 403,
      body: { message: 'Missing Permissions', code: 50013 },
      times: 1,
    });
    await writeSeededFile(path.join(fx.filesRoot, 'refused.bin'), 1 * MIB, 74);
    const id = await fx.split('refused.bin', { chunkSizeMiB: 1, channelId: GENERAL });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(t.threads).toEqual([]);
    expect(t.parts.map((p) => p.channel_id)).toEqual([GENERAL]);
    expect(t.notes).toContain('parts go to the channel, not a thread: Discord refused to make the thread (Missing Permissions)');
  });

  it('WHEN Discord makes the thread but its answer is lost THEN the bot asks again, takes up that thread (its id is the message’s) and posts there', async () => {
    fx.fake.faults.add({ route: 'POST /channels/:id/messages/:mid/threads', kind: 'storeThenDrop', times: 1 });
    await writeSeededFile(path.join(fx.filesRoot, 'lost-answer.bin'), 1 * MIB, 75);
    const id = await fx.split('lost-answer.bin', { chunkSizeMiB: 1, channelId: GENERAL });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(t.threads).toEqual([{ id: t.progress_message_id, lane: 0 }]);
    expect(t.parts.map((p) => p.channel_id)).toEqual([t.progress_message_id]);
    expect(fx.fake.threads(GENERAL).filter((x) => x.name === t.file_name)).toHaveLength(1);
  });

  it('WHEN /cancel delete_posted:true THEN the thread the bot made is deleted, its parts with it', async () => {
    const { threadId, reply, t } = await cancelMidway(fx, 'cancelled.bin', 72);
    expect(t.status).toBe('cancelled');
    expect(fx.fake.threads(GENERAL).find((x) => x.id === threadId)).toMatchObject({ deleted: true });
    expect(fx.fake.messages(threadId)).toEqual([]);
    expect(reply).toMatch(/Deleted \d+ part message\(s\)\.$/);
  });

  it('GIVEN all of the above THEN the bot logged no unexpected error', () => {
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});

describe('GIVEN PARTS_IN=thread and no Manage Threads', () => {
  let fx: BotFixture;

  beforeAll(async () => {
    fx = await startBotFixture({
      fake: { guildId: GUILD, channels: [{ id: GENERAL, name: 'general' }] },
      env: { PARTS_IN: 'thread', MAX_CHUNKS_PER_MESSAGE: '1', MAX_ACTIVE_TRANSFERS: '10' },
    });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('WHEN /cancel delete_posted:true THEN the thread stays, its part messages are deleted one by one, and a note says why', async () => {
    const { threadId, reply, t } = await cancelMidway(fx, 'kept.bin', 73);
    expect(fx.fake.threads(GENERAL).find((x) => x.id === threadId)).toMatchObject({ deleted: false, archived: true });
    expect(fx.fake.messages(threadId).filter((m) => m.attachments.length > 0)).toEqual([]);
    expect(reply).toMatch(/Deleted \d+ part message\(s\)\.$/);
    expect(reply).not.toMatch(/could not be deleted/);
    expect(t.notes.join('\n')).toMatch(/could not delete the thread <#\d+> .*the bot needs Manage Threads\): its messages are deleted one by one/);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});
