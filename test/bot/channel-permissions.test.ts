/**
 * Who may post where, and who may see which transfer, judged from what Discord sends: the
 * member's computed permissions in each channel (interactions), and the guild's roles and
 * channel overwrites (GUILD_CREATE).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import type { InteractionInput } from '../support/fake-discord/types.js';
import { writeSeededFile } from '../support/random-file.js';
import { MIB } from '../support/units.js';

const MESSAGES = 'POST /channels/:id/messages';
const VIEW = 1n << 10n;
const SEND = 1n << 11n;
const ATTACH = 1n << 15n;

const GUILD = '1400000000000000001'; // also @everyone's role id
const GENERAL = '1400000000000000011';
const ANNOUNCEMENTS = '1400000000000000012';
const PRIVATE = '1400000000000000013';
/** May start transfers (ALLOWED_ROLE_IDS); grants nothing by itself. */
const UPLOADER = '1400000000000000021';
/** Sees #private. */
const STAFF = '1400000000000000022';
const OWNER = '1400000000000000031';
const STRANGER = '1400000000000000032';

describe('channel permissions of the member who asks', () => {
  let fx: BotFixture;
  beforeAll(async () => {
    fx = await startBotFixture({
      fake: {
        guildId: GUILD,
        roles: [
          { id: UPLOADER, name: 'uploader', permissions: 0n },
          { id: STAFF, name: 'staff', permissions: 0n },
        ],
        channels: [
          { id: GENERAL, name: 'general' },
          // Everyone reads #announcements; nobody but the admins writes there.
          { id: ANNOUNCEMENTS, name: 'announcements', permissionOverwrites: [{ id: GUILD, type: 'role', deny: SEND | ATTACH }] },
          {
            id: PRIVATE,
            name: 'private',
            permissionOverwrites: [
              { id: GUILD, type: 'role', deny: VIEW },
              { id: STAFF, type: 'role', allow: VIEW },
            ],
          },
        ],
      },
      env: { ALLOWED_ROLE_IDS: UPLOADER, MAX_ACTIVE_TRANSFERS: '20', MAX_CHUNKS_PER_MESSAGE: '3' },
    });
    await writeSeededFile(path.join(fx.filesRoot, 'small.bin'), 2 * MIB, 7);
  });
  afterAll(async () => {
    await fx?.stop();
  });

  const member = (id: string, roles: string[]): Partial<InteractionInput> => ({ user: { id }, roles });
  const splitTo = (channel: string, who: Partial<InteractionInput>): InteractionInput => ({
    name: 'split',
    ...who,
    options: [
      { name: 'path', type: 3, value: 'small.bin' },
      { name: 'chunk_size', type: 4, value: 1 },
      { name: 'channel', type: 7, value: channel },
    ],
  });

  /** Sends a command that should start a transfer; resolves with its id. */
  const started = async (input: InteractionInput): Promise<string> => {
    const handle = await fx.command(input);
    await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
    const content = handle.original()?.content ?? '';
    const id = /`(upload_[a-z0-9]+)` started/.exec(content)?.[1];
    if (!id) throw new Error(`no transfer started: ${content}`);
    return id;
  };

  describe('/split channel:', () => {
    const cases: [string, string, string[], RegExp][] = [
      ['only View Channel there (#announcements)', ANNOUNCEMENTS, [UPLOADER], /can't post in <#\d+>: you lack SendMessages, AttachFiles/],
      ['no View Channel there (#private)', PRIVATE, [UPLOADER], /can't post in <#\d+>: you lack ViewChannel/],
    ];

    it.each(cases)(
      'GIVEN a member allowed to start transfers with %s THEN it is refused ephemerally and nothing is posted',
      async (_label, channel, roles, message) => {
        const before = (await fx.readProgress()).active_transfers.length;
        const posts = fx.fake.requests.filter((r) => r.route === MESSAGES).length;
        const handle = await fx.command(splitTo(channel, member(STRANGER, roles)));
        await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
        expect(handle.ephemeral()).toBe(true);
        expect(handle.original()?.content).toMatch(message);
        expect((await fx.readProgress()).active_transfers.length).toBe(before);
        expect(fx.fake.requests.filter((r) => r.route === MESSAGES).length).toBe(posts);
        expect(fx.fake.messages(channel)).toEqual([]);
      },
    );

    it('GIVEN no channel option in a channel where the member may not attach files THEN it is refused there too', async () => {
      const posts = fx.fake.requests.filter((r) => r.route === MESSAGES).length;
      const input = splitTo(ANNOUNCEMENTS, member(STRANGER, [UPLOADER]));
      input.options = input.options!.filter((o) => o.name !== 'channel');
      const handle = await fx.command({ ...input, channelId: ANNOUNCEMENTS });
      await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
      expect(handle.ephemeral()).toBe(true);
      expect(handle.original()?.content).toMatch(/can't post in <#\d+>: you lack SendMessages, AttachFiles/);
      expect(fx.fake.requests.filter((r) => r.route === MESSAGES).length).toBe(posts);
    });

    it('GIVEN a member who may view, send and attach in the target channel THEN the transfer goes there', async () => {
      const id = await started(splitTo(PRIVATE, member(OWNER, [UPLOADER, STAFF])));
      const t = await fx.waitForStatus(id, ['complete', 'error']);
      expect(t.status).toBe('complete');
      expect(t.channel_id).toBe(PRIVATE);
    });
  });

  describe('transfers in a channel the asker cannot view are unknown to them', () => {
    const transfers = { privateDone: '', privateFailed: '', generalDone: '' };
    beforeAll(async () => {
      const owner = member(OWNER, [UPLOADER, STAFF]);
      transfers.privateDone = await started(splitTo(PRIVATE, owner));
      transfers.generalDone = await started(splitTo(GENERAL, owner));
      await fx.waitForStatus(transfers.privateDone, ['complete']);
      await fx.waitForStatus(transfers.generalDone, ['complete']);
      // Discord refuses the progress message and the first part: the transfer ends in error, resumable.
      fx.fake.faults.add({
        route: ({ method, path: p }) => method === 'POST' && p === `/channels/${PRIVATE}/messages`,
        kind: 'status',
        status: 403,
        times: 2,
      });
      try {
        transfers.privateFailed = await started(splitTo(PRIVATE, owner));
        await fx.waitForStatus(transfers.privateFailed, ['error']);
      } finally {
        fx.fake.faults.clear();
      }
    });

    const ask = async (name: string, id: string, who: Partial<InteractionInput>) => {
      const handle = await fx.command({ name, ...who, options: [{ name: 'transfer', type: 3, value: id }] });
      await handle.waitFor((h) => Boolean(h.original()?.content), 10_000);
      expect(handle.ephemeral()).toBe(true);
      return handle.original()?.content ?? '';
    };
    const offered = async (name: string, query: string, who: Partial<InteractionInput>) => {
      const handle = await fx.fake.sendInteraction({ type: 4, name, ...who, options: [{ name: 'transfer', type: 3, value: query, focused: true }] });
      const choices = (await handle.waitForResponse()).data?.choices as { name: string; value: string }[];
      return choices.map((c) => c.value);
    };
    const stranger = member(STRANGER, [UPLOADER]);

    it('GIVEN /status <id> of a transfer in #private from a member who cannot view it THEN it reads exactly as an unknown id', async () => {
      const unknown = await ask('status', 'upload_nosuch1', stranger);
      expect(unknown).toMatch(/No transfer/);
      expect(await ask('status', transfers.privateDone, stranger)).toBe(unknown.replace('upload_nosuch1', transfers.privateDone));
      expect(await ask('status', transfers.generalDone, stranger)).toMatch(/complete/);
      expect(await ask('status', transfers.privateDone, member(STRANGER, [STAFF]))).toMatch(/complete/);
      expect(await ask('status', transfers.privateDone, { user: { id: STRANGER }, permissions: PERMISSIONS.ADMINISTRATOR })).toMatch(/complete/);
    });

    it('GIVEN /cancel and /resume of a transfer in #private from a member who cannot view it THEN it is unknown there too', async () => {
      for (const command of ['cancel', 'resume']) {
        const unknown = await ask(command, 'upload_nosuch1', stranger);
        expect(unknown).toMatch(/No transfer/);
        for (const id of [transfers.privateDone, transfers.privateFailed]) {
          expect(await ask(command, id, stranger)).toBe(unknown.replace('upload_nosuch1', id));
        }
      }
      expect((await fx.transfer(transfers.privateFailed)).status).toBe('error');
    });

    it('GIVEN the autocompletes of /status, /cancel and /resume THEN others see only transfers in channels they can view, the owner all of theirs', async () => {
      for (const command of ['status', 'cancel', 'resume']) {
        const toStranger = await offered(command, 'upload_', stranger);
        expect(toStranger).not.toContain(transfers.privateDone);
        expect(toStranger).not.toContain(transfers.privateFailed);
        // The owner sees their own even without the role that shows #private.
        const toOwner = await offered(command, 'upload_', member(OWNER, [UPLOADER]));
        expect(toOwner).toContain(transfers.privateFailed);
        expect(await offered(command, 'upload_', member(STRANGER, [STAFF]))).toContain(transfers.privateFailed);
      }
      expect(await offered('status', 'upload_', stranger)).toContain(transfers.generalDone);
    });
  });

  it('GIVEN all of the above THEN the bot logged no error', () => {
    expect(unexpectedErrors(fx.bot, [/^transfer_error$/])).toEqual([]);
  });
});
