/**
 * Lanes (README, 'Lanes') where Discord or the bot's permissions say no: without Create Public
 * Threads one lane, the channel, and the note; a lane Discord refuses to make leaves the lanes
 * made, and a note says how many and why; `/cancel delete_posted` deletes every lane.
 * PARTS_IN=thread, MAX_PARALLEL_UPLOADS=3; the bot as its own process against the fake Discord.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { BOT_PERMISSIONS } from '../support/fake-discord/util.js';
import { holdAfterParts, waitUntil } from '../support/held.js';
import { writeSeededFile } from '../support/random-file.js';
import { rebuildFromFake } from '../support/rebuild.js';
import { expectInChannel } from '../support/threads.js';
import { MIB } from '../support/units.js';

const GUILD = '1340000000000000001';
const GENERAL = '1340000000000000002';
const NO_THREADS = '1340000000000000003';
const CREATE_PUBLIC_THREADS = 1n << 35n;
const MANAGE_THREADS = 1n << 34n;

describe('GIVEN PARTS_IN=thread, MAX_PARALLEL_UPLOADS=3, a channel where the bot may not make threads, and Manage Threads', () => {
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
      env: { PARTS_IN: 'thread', MAX_PARALLEL_UPLOADS: '3', MAX_CHUNKS_PER_MESSAGE: '1', MAX_ACTIVE_TRANSFERS: '10' },
    });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('WHEN a /split goes to the channel without Create Public Threads THEN one lane, the channel, and the progress message says why', async () => {
    const file = await writeSeededFile(path.join(fx.filesRoot, 'fallback lanes.bin'), 3 * MIB + 1, 101);
    const id = await fx.split('fallback lanes.bin', { chunkSizeMiB: 1, channelId: NO_THREADS });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    await expectInChannel(fx, t, NO_THREADS, 4, file, 'parts go to the channel, not a thread: the bot lacks CreatePublicThreads there');
  });

  it('WHEN Discord refuses to make the third lane THEN the parts go through the two made, and a note says how many and why', async () => {
    // The transfer's own thread is started from its message; the lanes after it are threads of their own: the second of those refused.
    fx.fake.faults.add({
      route: 'POST /channels/:id/threads',
      kind: 'status',
      status: 400,
      body: { message: 'Maximum number of active threads reached', code: 160006 },
      after: 1,
      times: 1,
    });
    const file = await writeSeededFile(path.join(fx.filesRoot, 'two lanes.bin'), 4 * MIB, 102);
    const id = await fx.split('two lanes.bin', { chunkSizeMiB: 1, channelId: GENERAL });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(t.threads.map((x) => x.lane)).toEqual([0, 1]);
    expect(new Set(t.parts.map((p) => p.channel_id)).size).toBeLessThanOrEqual(2);
    for (const p of t.parts) expect(t.threads.map((x) => x.id)).toContain(p.channel_id);
    expect(t.notes.join('\n')).toMatch(
      /parts go through fewer lanes: 2 of 3, as Discord refused to make another thread \(.*Maximum number of active threads reached/,
    );
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(file);
  });

  it('WHEN /cancel delete_posted:true mid-transfer THEN every lane the bot made is deleted, its parts with it', async () => {
    await writeSeededFile(path.join(fx.filesRoot, 'cancelled lanes.bin'), 6 * MIB, 103);
    const held = holdAfterParts(fx.fake, fx.fake.messages().filter((m) => m.attachments.length > 0).length + 2);
    const id = await fx.split('cancelled lanes.bin', { chunkSizeMiB: 1, channelId: GENERAL });
    await waitUntil(() => fx.fake.pendingRequests().some((r) => r.fault === 'hold'), 'a part held after two');
    const lanes = (await fx.transfer(id)).threads;
    expect(lanes.map((x) => x.lane)).toEqual([0, 1, 2]);
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
    expect((await fx.transfer(id)).status).toBe('cancelled');
    for (const lane of lanes) {
      expect(fx.fake.threads(GENERAL).find((x) => x.id === lane.id)).toMatchObject({ deleted: true });
      expect(fx.fake.messages(lane.id)).toEqual([]);
    }
    expect(handle.original()?.content).toMatch(/Deleted \d+ part message\(s\)\.$/);
  });

  it('GIVEN all of the above THEN the bot logged no unexpected error', () => {
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});
