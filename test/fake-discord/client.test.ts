import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  ApplicationCommandOptionType,
  ChannelType,
  DiscordAPIError,
  GatewayIntentBits,
  MessageFlags,
  Routes,
  type ChatInputCommandInteraction,
  type Interaction,
  type RateLimitData,
  type TextChannel,
} from 'discord.js';
import { startBed, type Bed } from './helpers.js';
import { sha256 } from '../support/hash.js';
import { until, withTimeout } from '../support/wait.js';

let bed: Bed | undefined;

afterEach(async () => {
  const b = bed;
  bed = undefined;
  if (!b) return;
  await b.close();
  // Any 'error' the client emitted (e.g. an interaction lost to a TypeError) fails the test.
  expect(b.errors).toEqual([]);
});

function onCommand(b: Bed, fn: (i: ChatInputCommandInteraction) => Promise<unknown>): void {
  b.client.on('interactionCreate', (i: Interaction) => {
    if (!i.isChatInputCommand()) return;
    fn(i).catch((e: unknown) => b.errors.push(e));
  });
}

async function textChannel(b: Bed): Promise<TextChannel> {
  const ch = await b.client.channels.fetch(b.fake.channels[0]!.id);
  if (!ch || ch.type !== ChannelType.GuildText) throw new Error('no text channel');
  return ch;
}

describe('a real discord.js client against the fake Discord', () => {
  it('GIVEN a guild with two text channels WHEN a discord.js client logs in THEN it reaches clientReady with the guild and a text channel cached, and its heartbeats get acks', async () => {
    bed = await startBed({
      channels: [
        { id: '1300000000000000001', name: 'files' },
        { id: '1300000000000000002', name: 'other' },
      ],
    });
    const guild = bed.client.guilds.cache.get(bed.fake.guildId);
    expect(guild?.available).toBe(true);
    expect(guild?.channels.cache.get('1300000000000000001')?.type).toBe(ChannelType.GuildText);
    expect(bed.client.user?.id).toBe(bed.fake.botUserId);
    expect(bed.client.application?.id).toBe(bed.fake.applicationId);
    expect(guild?.members.me?.permissions.has('AttachFiles')).toBe(true);
    // heartbeats (interval 1000 ms in the bed) get acks
    await until(() => bed!.fake.gatewayOps().some((o) => o.direction === 'out' && o.op === 11), 3000, 'heartbeat ack');
  });

  it('GIVEN a slash command interaction WHEN the client replies ephemerally THEN the handler sees its channel, option and attachment size limit, and the reply carries flags 64 and is no channel message', async () => {
    bed = await startBed();
    const seen: { channel: string | null; limit: number; name: string; opt: string | null }[] = [];
    onCommand(bed, async (i) => {
      seen.push({ channel: i.channel?.id ?? null, limit: i.attachmentSizeLimit, name: i.commandName, opt: i.options.getString('path') });
      await i.reply({ content: 'pong', flags: MessageFlags.Ephemeral });
    });
    const h = await bed.fake.sendInteraction({
      name: 'split',
      options: [{ name: 'path', type: 3, value: 'a/b.bin' }],
      attachmentSizeLimit: 8 * 1024 * 1024,
    });
    const r = await h.waitForResponse(3000);
    expect(r.type).toBe(4);
    expect(r.data.flags & 64).toBe(64);
    expect(h.ephemeral()).toBe(true);
    expect(h.original()?.content).toBe('pong');
    expect(seen).toEqual([{ channel: bed.fake.channels[0]!.id, limit: 8 * 1024 * 1024, name: 'split', opt: 'a/b.bin' }]);
    // ephemeral replies are not channel messages
    expect(bed.fake.messages(bed.fake.channels[0]!.id)).toHaveLength(0);
  });

  it('GIVEN an interaction WHEN the client calls deferReply, editReply and followUp THEN the fake answers type 5, the original shows the edit and the follow-up arrives', async () => {
    bed = await startBed();
    onCommand(bed, async (i) => {
      await i.deferReply({ flags: MessageFlags.Ephemeral });
      await new Promise((r) => setTimeout(r, 50));
      await i.editReply('done: 3 parts');
      await i.followUp({ content: 'more', flags: MessageFlags.Ephemeral });
    });
    const h = await bed.fake.sendInteraction({ name: 'status' });
    const r = await h.waitForResponse(3000);
    expect(r.type).toBe(5);
    await h.waitFor((x) => x.original()?.content === 'done: 3 parts' && x.followUps().length === 1, 3000);
    expect(h.ephemeral()).toBe(true);
    expect(h.followUps()[0].content).toBe('more');
    expect(bed.fake.requests.some((q) => q.route === 'PATCH /webhooks/:app/:token/messages/@original' && q.status === 200)).toBe(true);
  });

  it('GIVEN an interaction WHEN the client replies with an attachment and edits the reply with another THEN the original carries the new attachment with intact bytes, and the public reply is a channel message', async () => {
    bed = await startBed();
    const a = randomBytes(3000);
    const b = randomBytes(4000);
    onCommand(bed, async (i) => {
      await i.reply({ content: 'manifest', files: [{ attachment: a, name: 'a.json' }] });
      await i.editReply({ content: 'manifest v2', files: [{ attachment: b, name: 'b.json' }] });
    });
    const h = await bed.fake.sendInteraction({ name: 'split' });
    await h.waitFor((x) => x.original()?.content === 'manifest v2', 3000);
    const atts = h.original()!.attachments!;
    expect(atts.map((x) => x.filename)).toEqual(['b.json']);
    expect(sha256(bed.fake.attachmentBytes(atts[0]!.id))).toBe(sha256(b));
    expect(h.ephemeral()).toBe(false);
    // a public reply is a channel message (type 20) too
    const [m] = bed.fake.messages(bed.fake.channels[0]!.id);
    expect(m?.interactionId).toBe(h.id);
  });

  it('GIVEN 3 parts WHEN the client posts each as a message with an attachment THEN the bytes arrive intact, the CDN URLs discord.js sees serve them, and fetching a message again works', async () => {
    bed = await startBed();
    const ch = await textChannel(bed);
    const parts = [randomBytes(300_000), randomBytes(1024), randomBytes(77)];
    const sent = [];
    for (const [n, buf] of parts.entries()) {
      sent.push(await ch.send({ content: `part ${n + 1}/3`, files: [{ attachment: buf, name: `file.bin.part${n + 1}` }] }));
    }
    const msgs = bed.fake.messages(ch.id);
    expect(msgs.map((m) => m.content)).toEqual(['part 1/3', 'part 2/3', 'part 3/3']);
    for (const [n, m] of msgs.entries()) {
      expect(m.attachments).toHaveLength(1);
      const a = m.attachments[0]!;
      expect(a.filename).toBe(`file.bin.part${n + 1}`);
      expect(a.size).toBe(parts[n]!.length);
      expect(sha256(bed.fake.attachmentBytes(a.id))).toBe(sha256(parts[n]!));
      // discord.js sees the same attachment and its URL works
      const att = sent[n]!.attachments.first()!;
      expect(att.id).toBe(a.id);
      const res = await fetch(att.url);
      expect(res.status).toBe(200);
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(parts[n]!));
    }
    // fetching the message again through discord.js works too
    const again = await ch.messages.fetch({ message: sent[0]!.id, force: true });
    expect(again.attachments.first()?.size).toBe(parts[0]!.length);
  });

  it('GIVEN a 429 on the first post WHEN the client sends THEN discord.js fires rateLimited, waits out retry_after and the message is posted once', async () => {
    bed = await startBed();
    const ch = await textChannel(bed);
    const events: RateLimitData[] = [];
    bed.client.rest.on('rateLimited', (d) => events.push(d));
    bed.fake.faults.add({ route: 'POST /channels/:id/messages', kind: 'rateLimit', retryAfterMs: 400 });
    const t0 = Date.now();
    const m = await withTimeout(ch.send('after the limit'), 5000, 'send after 429');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(380);
    expect(m.content).toBe('after the limit');
    expect(events.length).toBeGreaterThanOrEqual(1);
    const statuses = bed.fake.requests.filter((q) => q.route === 'POST /channels/:id/messages').map((q) => q.status);
    expect(statuses).toEqual([429, 200]);
    expect(bed.fake.messages(ch.id)).toHaveLength(1);
  });

  it('GIVEN a 500 on the first post WHEN the client sends THEN discord.js retries and the retry succeeds', async () => {
    bed = await startBed();
    const ch = await textChannel(bed);
    bed.fake.faults.add({ route: 'POST /channels/:id/messages', kind: 'status', status: 500 });
    await withTimeout(ch.send('hello'), 5000, 'send after 500');
    const statuses = bed.fake.requests.filter((q) => q.route === 'POST /channels/:id/messages').map((q) => q.status);
    expect(statuses).toEqual([500, 200]);
  });

  it('GIVEN a post stored but its answer lost (storeThenDrop) WHEN the client uploads with enforceNonce THEN discord.js retries and gets the same message, posted once', async () => {
    bed = await startBed({}, { enforceNonce: true, rest: { timeout: 2000 } });
    const ch = await textChannel(bed);
    bed.fake.faults.add({ route: 'POST /channels/:id/messages', kind: 'storeThenDrop' });
    const buf = randomBytes(5000);
    const m = await withTimeout(ch.send({ files: [{ attachment: buf, name: 'x.bin' }] }), 8000, 'send with storeThenDrop');
    expect(bed.fake.allMessagesEver()).toHaveLength(1);
    expect(m.id).toBe(bed.fake.allMessagesEver()[0]!.id);
    const statuses = bed.fake.requests.filter((q) => q.route === 'POST /channels/:id/messages').map((q) => q.status);
    expect(statuses).toEqual([0, 200]);
  });

  it('GIVEN a post stored and then answered by a plain close (storeThenDrop, reset: false) WHEN the client sends THEN discord.js does not retry: the error reaches the caller and the message is stored once', async () => {
    bed = await startBed({}, { rest: { timeout: 2000 } });
    const ch = await textChannel(bed);
    bed.fake.faults.add({ route: 'POST /channels/:id/messages', kind: 'storeThenDrop', reset: false });
    const e = await ch.send('lost answer').then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(Error);
    expect(bed.fake.messages(ch.id).map((m) => m.content)).toEqual(['lost answer']);
  });

  it('GIVEN a post stored but never answered (storeThenHang) WHEN the client sends with enforceNonce THEN discord.js times out, retries and gets the same message, posted once', async () => {
    bed = await startBed({}, { enforceNonce: true, rest: { timeout: 300 } });
    const ch = await textChannel(bed);
    bed.fake.faults.add({ route: 'POST /channels/:id/messages', kind: 'storeThenHang' });
    const m = await withTimeout(ch.send('once'), 5000, 'send after storeThenHang');
    expect(bed.fake.allMessagesEver().map((x) => x.id)).toEqual([m.id]);
    const recs = bed.fake.requests.filter((q) => q.route === 'POST /channels/:id/messages');
    expect(recs.map((q) => [q.status, q.fault])).toEqual([
      [0, 'storeThenHang'],
      [200, undefined],
    ]);
  });

  it('GIVEN a post that hangs unanswered WHEN the client sends THEN discord.js times out, retries and the message is posted once', async () => {
    bed = await startBed({}, { rest: { timeout: 300 } });
    const ch = await textChannel(bed);
    bed.fake.faults.add({ route: 'POST /channels/:id/messages', kind: 'hang' });
    await withTimeout(ch.send('eventually'), 5000, 'send after hang');
    expect(bed.fake.messages(ch.id)).toHaveLength(1);
  });

  it('GIVEN a connection dropped mid-body (ECONNRESET) WHEN the client uploads THEN discord.js retries and the upload lands once with intact bytes', async () => {
    bed = await startBed();
    const ch = await textChannel(bed);
    bed.fake.faults.add({ route: 'POST /channels/:id/messages', kind: 'dropConnection' });
    const buf = randomBytes(2 * 1024 * 1024);
    const m = await withTimeout(ch.send({ files: [{ attachment: buf, name: 'big.bin' }] }), 8000, 'send after drop');
    expect(sha256(bed.fake.attachmentBytes(m.attachments.first()!.id))).toBe(sha256(buf));
    const recs = bed.fake.requests.filter((q) => q.route === 'POST /channels/:id/messages');
    expect(recs.map((q) => [q.status, q.fault])).toEqual([
      [0, 'dropConnection'],
      [200, undefined],
    ]);
    expect(bed.fake.allMessagesEver()).toHaveLength(1);
  });

  it('GIVEN a closeGateway fault on the post route WHEN the client sends THEN the gateway socket closes, the client resumes and the message is posted', async () => {
    bed = await startBed();
    const ch = await textChannel(bed);
    const resumed = new Promise<void>((r) => bed!.client.once('shardResume', () => r()));
    bed.fake.faults.add({ route: 'POST /channels/:id/messages', kind: 'closeGateway', code: 4000 });
    await ch.send('while the gateway drops');
    await withTimeout(resumed, 5000, 'shardResume');
    expect(bed.fake.messages(ch.id)).toHaveLength(1);
  });

  it('GIVEN a client with the GuildMessages intent WHEN it posts and deletes a message THEN it receives MESSAGE_CREATE and MESSAGE_DELETE for it', async () => {
    bed = await startBed({}, { intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages] });
    const ch = await textChannel(bed);
    const created: string[] = [];
    const deleted: string[] = [];
    bed.client.on('messageCreate', (m) => created.push(m.id));
    bed.client.on('messageDelete', (m) => deleted.push(m.id));
    const m = await ch.send('visible');
    await m.delete();
    await until(() => created.length === 1 && deleted.length === 1, 2000, 'message events');
    expect(created).toEqual([m.id]);
    expect(deleted).toEqual([m.id]);
  });

  it('GIVEN an attachment 1 byte over the limit WHEN the client sends it THEN it gets DiscordAPIError 40005 / 413 without a retry, and one at the limit is accepted', async () => {
    bed = await startBed({ attachmentSizeLimit: 4096 });
    const ch = await textChannel(bed);
    const e = await ch.send({ files: [{ attachment: randomBytes(4097), name: 'big.bin' }] }).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(DiscordAPIError);
    expect((e as DiscordAPIError).code).toBe(40005);
    expect((e as DiscordAPIError).status).toBe(413);
    expect(bed.fake.requests.filter((q) => q.route === 'POST /channels/:id/messages')).toHaveLength(1);
    // exactly at the limit is fine
    await ch.send({ files: [{ attachment: randomBytes(4096), name: 'ok.bin' }] });
  });

  it('GIVEN a body that breaks the OpenAPI schema WHEN the client posts it THEN it gets DiscordAPIError 400 / 50035 naming the field and nothing is stored', async () => {
    bed = await startBed();
    expect(bed.fake.schemaValidation).toBe(true);
    const e = await bed.client.rest.post(Routes.channelMessages(bed.fake.channels[0]!.id), { body: { content: 'x', attachments: [{ id: 0 }] } }).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(DiscordAPIError);
    expect((e as DiscordAPIError).code).toBe(50035);
    expect((e as DiscordAPIError).status).toBe(400);
    expect(JSON.stringify((e as DiscordAPIError).rawError)).toContain('attachments');
    expect(bed.fake.messages()).toHaveLength(0);
  });

  it('GIVEN a connected client WHEN the gateway closes with 4000 THEN it resumes with op 6, without a second IDENTIFY, and still receives interactions', async () => {
    bed = await startBed();
    onCommand(bed, (i) => i.reply({ content: `hi ${i.commandName}`, flags: MessageFlags.Ephemeral }));
    const resumed = new Promise<void>((r) => bed!.client.once('shardResume', () => r()));
    bed.fake.closeGateway(4000);
    await withTimeout(resumed, 5000, 'shardResume');
    const ops = bed.fake.gatewayOps();
    expect(ops.filter((o) => o.direction === 'in' && o.op === 6)).toHaveLength(1);
    expect(ops.filter((o) => o.direction === 'in' && o.op === 2)).toHaveLength(1); // no second IDENTIFY
    const h = await bed.fake.sendInteraction({ name: 'after-resume' });
    await h.waitFor((x) => x.original()?.content === 'hi after-resume', 3000);
  });

  it('GIVEN the gateway socket is down WHEN an interaction is sent THEN it is replayed on RESUME and the client answers it', async () => {
    bed = await startBed();
    onCommand(bed, (i) => i.reply({ content: 'caught', flags: MessageFlags.Ephemeral }));
    bed.fake.closeGateway(4000);
    await until(() => bed!.fake.gatewayConnections() === 0, 2000, 'socket closed');
    const h = await bed.fake.sendInteraction({ name: 'while-down' });
    await h.waitFor((x) => x.original()?.content === 'caught', 4000);
  });

  it('GIVEN a connected client WHEN the gateway sends an op 7 reconnect request THEN the client follows it with a RESUME', async () => {
    bed = await startBed();
    const resumed = new Promise<void>((r) => bed!.client.once('shardResume', () => r()));
    bed.fake.reconnectRequest();
    await withTimeout(resumed, 5000, 'shardResume after op 7');
    expect(bed.fake.gatewayOps().some((o) => o.direction === 'in' && o.op === 6)).toBe(true);
  });

  it('GIVEN two guild commands WHEN set via client.application.commands.set THEN the fake registers them for the guild and none globally', async () => {
    bed = await startBed();
    const set = await bed.client.application!.commands.set(
      [
        {
          name: 'split',
          description: 'split a file',
          options: [{ name: 'path', description: 'file', type: ApplicationCommandOptionType.String, required: true, autocomplete: true }],
        },
        { name: 'status', description: 'status' },
      ],
      bed.fake.guildId,
    );
    expect(set.size).toBe(2);
    expect(bed.fake.commands(bed.fake.guildId).map((c) => (c as { name: string }).name)).toEqual(['split', 'status']);
    expect(bed.fake.commands()).toEqual([]);
  });

  it('GIVEN a channel hidden from @everyone and visible to staff without attach WHEN a member without and with the staff role names it in a command THEN the resolved channel permissions equal permissionsFor on the cached channel: no view, then view without attach', async () => {
    const VIEW = 1n << 10n;
    const ATTACH = 1n << 15n;
    const staff = '1300000000000000020';
    const member = '1300000000000000030';
    const guildId = '1300000000000000010'; // also @everyone's role id
    bed = await startBed({
      guildId,
      roles: [{ id: staff, name: 'staff', permissions: 0n }],
      channels: [
        { id: '1300000000000000001', name: 'general' },
        // @everyone cannot see #private; staff can, but may not attach files there.
        {
          id: '1300000000000000002',
          name: 'private',
          permissionOverwrites: [
            { id: guildId, type: 'role', deny: VIEW },
            { id: staff, type: 'role', allow: VIEW, deny: ATTACH },
          ],
        },
      ],
    });
    const guild = bed.client.guilds.cache.get(bed.fake.guildId)!;
    expect(guild.ownerId).not.toBe(bed.fake.defaultUser.id);
    const seen: { user: string; resolved: bigint | null; there: bigint | null | undefined }[] = [];
    onCommand(bed, async (i) => {
      if (!i.inCachedGuild()) throw new Error('guild not cached');
      const channel = i.options.getChannel('channel', true);
      const there = guild.channels.cache.get(channel.id);
      seen.push({ user: i.user.id, resolved: channel.permissions?.bitfield ?? null, there: there?.permissionsFor(i.member).bitfield });
      await i.reply({ content: 'ok', flags: MessageFlags.Ephemeral });
    });
    const ask = async (roles: string[]) => {
      const h = await bed!.fake.sendInteraction({
        name: 'split',
        user: { id: member },
        roles,
        options: [{ name: 'channel', type: 7, value: '1300000000000000002' }],
      });
      await h.waitForResponse(3000);
    };
    await ask([]);
    await ask([staff]);
    expect(seen).toHaveLength(2);
    for (const s of seen) expect(s.resolved).toBe(s.there);
    expect((seen[0]!.resolved! & VIEW) === 0n).toBe(true);
    expect((seen[1]!.resolved! & VIEW) === VIEW).toBe(true);
    expect((seen[1]!.resolved! & ATTACH) === 0n).toBe(true);
  });

  it('GIVEN an autocomplete interaction (type 4) WHEN the client responds THEN the fake gets callback type 8 with the choices', async () => {
    bed = await startBed();
    bed.client.on('interactionCreate', (i) => {
      if (!i.isAutocomplete()) return;
      const focused = i.options.getFocused();
      i.respond([{ name: `${focused}.bin`, value: `${focused}.bin` }]).catch((e: unknown) => bed!.errors.push(e));
    });
    const h = await bed.fake.sendInteraction({ type: 4, name: 'split', options: [{ name: 'path', type: 3, value: 'mo', focused: true }] });
    const r = await h.waitForResponse(3000);
    expect(r).toEqual({ type: 8, data: { choices: [{ name: 'mo.bin', value: 'mo.bin' }] } });
  });
});
