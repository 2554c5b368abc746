import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  ChannelType,
  Client,
  GatewayIntentBits,
  DiscordAPIError,
  MessageFlags,
  Routes,
  type AnyThreadChannel,
  type ForumChannel,
  type Message,
  type NewsChannel,
  type TextChannel,
} from 'discord.js';
import { sha256 } from '../support/hash.js';
import { heldAnswer } from '../support/held.js';
import { until, withTimeout } from '../support/wait.js';
import { startBed, type Bed } from './helpers.js';

let bed: Bed | undefined;
afterEach(async () => {
  if (bed) expect(bed.errors).toEqual([]);
  await bed?.close();
  bed = undefined;
});

const BOT = '1300000000000000099';
const GUILD = '1300000000000000010';
const CH = {
  text: '1300000000000000001',
  news: '1300000000000000002',
  forum: '1300000000000000003',
  noCreate: '1300000000000000004',
  noSend: '1300000000000000005',
};
const P = { manageThreads: 1n << 34n, createPublic: 1n << 35n, sendInThreads: 1n << 38n, manageMessages: 1n << 13n };

/** A guild with a text, an announcement and a forum channel, and two where the bot may not create threads / post in them. */
function bedWith(extra: { botPermissions?: bigint; channelRateLimit?: { limit: number; windowMs: number; countAt?: 'request' | 'body' } } = {}) {
  return startBed({
    applicationId: BOT,
    guildId: GUILD,
    channels: [
      { id: CH.text, name: 'general' },
      { id: CH.news, name: 'news', type: 5 },
      { id: CH.forum, name: 'files', type: 15 },
      { id: CH.noCreate, name: 'no-threads', permissionOverwrites: [{ id: BOT, type: 'member', deny: P.createPublic }] },
      { id: CH.noSend, name: 'no-thread-posts', permissionOverwrites: [{ id: GUILD, type: 'role', deny: P.sendInThreads }] },
    ],
    ...extra,
  });
}

const cached = (b: Bed, id: string) => b.client.channels.cache.get(id);

async function refusal(p: Promise<unknown>): Promise<{ status: number; code: unknown }> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof DiscordAPIError)) throw new Error(`expected a DiscordAPIError, got ${String(e)}`);
  return { status: e.status, code: e.code };
}

async function threadFromMessage(b: Bed, name = 'holiday.mkv'): Promise<{ starter: Message; thread: AnyThreadChannel }> {
  const starter = await (cached(b, CH.text) as TextChannel).send('progress');
  const thread = await starter.startThread({ name });
  return { starter, thread };
}

describe('threads in the fake Discord, driven by discord.js', () => {
  it('GIVEN a message WHEN discord.js starts a thread from it THEN the thread (type 11) has the message id and the channel as parent, THREAD_CREATE (newly created) puts it in the client cache, and the message carries it with HAS_THREAD', async () => {
    bed = await bedWith();
    const created: [string, boolean][] = [];
    bed.client.on('threadCreate', (t, fresh) => created.push([t.id, fresh]));
    const { starter, thread } = await threadFromMessage(bed);
    expect(thread.id).toBe(starter.id);
    expect(thread.type).toBe(ChannelType.PublicThread);
    expect(thread.parentId).toBe(CH.text);
    expect(thread.name).toBe('holiday.mkv');
    await until(() => created.length === 1, 3000, 'threadCreate');
    expect(created).toEqual([[starter.id, true]]);
    expect(bed.client.channels.cache.get(starter.id)?.isThread()).toBe(true);
    const again = await (cached(bed, CH.text) as TextChannel).messages.fetch({ message: starter.id, force: true });
    expect(again.hasThread).toBe(true);
    expect(again.flags.has(MessageFlags.HasThread)).toBe(true);
    expect(again.thread?.id).toBe(starter.id);
    const raw = (await bed.client.rest.get(Routes.channelMessage(CH.text, starter.id))) as {
      thread?: { id: string; parent_id: string };
      flags: number;
    };
    expect(raw.thread).toMatchObject({ id: starter.id, parent_id: CH.text });
    expect(bed.fake.threads(CH.text)).toMatchObject([{ id: starter.id, type: 11, archived: false, deleted: false, ownerId: BOT }]);
    const fetched = (await bed.client.rest.get(Routes.channel(starter.id))) as { type: number; thread_metadata: { archived: boolean } };
    expect(fetched).toMatchObject({ type: 11, thread_metadata: { archived: false } });
    // A thread this client did not make itself (say, before a restart) reaches its cache by THREAD_CREATE alone.
    const elsewhere = await (cached(bed, CH.text) as TextChannel).send('made elsewhere');
    const res = await fetch(`${bed.fake.apiUrl}/v10/channels/${CH.text}/messages/${elsewhere.id}/threads`, {
      method: 'POST',
      headers: { Authorization: `Bot ${bed.fake.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'from the gateway', auto_archive_duration: 60 }),
    });
    expect(res.status).toBe(201);
    await until(() => created.length === 2, 3000, 'threadCreate from the gateway');
    expect(created[1]).toEqual([elsewhere.id, true]);
    const fromGateway = bed.client.channels.cache.get(elsewhere.id) as AnyThreadChannel | undefined;
    expect(fromGateway?.name).toBe('from the gateway');
    expect(fromGateway?.autoArchiveDuration).toBe(60);
    expect(bed.fake.gatewayOps().filter((o) => o.t === 'THREAD_CREATE')).toHaveLength(2);
  });

  it('GIVEN a message with a thread, a 101-character name, an announcement channel and a forum THEN a second thread is 400 / 160004, the long name 400 / 50035 naming `name`, the announcement thread is type 10, and the forum refuses with 400 / 50024', async () => {
    bed = await bedWith();
    const { starter } = await threadFromMessage(bed);
    expect(await refusal(bed.client.rest.post(Routes.threads(CH.text, starter.id), { body: { name: 'again' } }))).toEqual({
      status: 400,
      code: 160004,
    });
    const other = await (cached(bed, CH.text) as TextChannel).send('another');
    const long = await bed.client.rest.post(Routes.threads(CH.text, other.id), { body: { name: 'x'.repeat(101) } }).catch((e: unknown) => e);
    expect(long).toBeInstanceOf(DiscordAPIError);
    expect((long as DiscordAPIError).code).toBe(50035);
    expect(JSON.stringify((long as DiscordAPIError).rawError)).toContain('"name"');
    expect(bed.fake.threads(CH.text)).toHaveLength(1);
    const hundred = await other.startThread({ name: 'y'.repeat(100) });
    expect(hundred.name).toHaveLength(100);
    const news = await (cached(bed, CH.news) as NewsChannel).send('news');
    const announcement = await news.startThread({ name: 'news thread' });
    expect(announcement.type).toBe(ChannelType.AnnouncementThread);
    expect(await refusal(bed.client.rest.post(Routes.threads(CH.forum, starter.id), { body: { name: 'no' } }))).toEqual({ status: 400, code: 50024 });
  });

  it('GIVEN a thread WHEN discord.js posts parts in it THEN the bytes arrive intact in the thread, GET messages lists them, and the parent channel keeps only its own message', async () => {
    bed = await bedWith();
    const { thread } = await threadFromMessage(bed);
    const parts = [randomBytes(200_000), randomBytes(77)];
    for (const [n, buf] of parts.entries()) await thread.send({ content: `part ${n + 1}`, files: [{ attachment: buf, name: `f.part${n + 1}` }] });
    const inThread = bed.fake.messages(thread.id);
    expect(inThread.map((m) => m.content)).toEqual(['part 1', 'part 2']);
    for (const [n, m] of inThread.entries()) expect(sha256(bed.fake.attachmentBytes(m.attachments[0]!.id))).toBe(sha256(parts[n]!));
    expect(bed.fake.messages(CH.text).map((m) => m.content)).toEqual(['progress']);
    const listed = await thread.messages.fetch({ limit: 10 });
    expect(listed.size).toBe(2);
    expect(bed.fake.threads(CH.text)[0]!.messageCount).toBe(2);
  });

  it.each(['request', 'body'] as const)(
    'GIVEN a bucket of 2 message creates per channel, counted at the %s WHEN two messages go to a thread THEN they count against the thread, not its parent: the parent still takes 2, and the thread a third only with a 429',
    async (countAt) => {
      bed = await bedWith({ channelRateLimit: { limit: 2, windowMs: 60_000, countAt } });
      const starter = await (cached(bed, CH.text) as TextChannel).send('progress'); // 1 of the parent's 2
      const thread = await starter.startThread({ name: 'parts' });
      await thread.send('part 1');
      await thread.send('part 2');
      await (cached(bed, CH.text) as TextChannel).send('still room in the parent'); // 2 of 2
      expect(bed.fake.requests.filter((q) => q.status === 429)).toEqual([]);
      const third = await fetch(`${bed.fake.apiUrl}/v10/channels/${thread.id}/messages`, {
        method: 'POST',
        headers: { Authorization: `Bot ${bed.fake.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ content: 'part 3' }),
      });
      expect(third.status).toBe(429);
      expect(third.headers.get('x-ratelimit-limit')).toBe('2');
      expect(bed.fake.messages(thread.id)).toHaveLength(2);
    },
  );

  it('GIVEN a thread WHEN the bot archives it, posts in it, and a moderator then locks and archives it THEN THREAD_UPDATE keeps discord.js current, the post unarchives it, and in the locked one posting and editing are 400 / 50083 and unarchiving is 403 / 50013', async () => {
    bed = await bedWith();
    const { thread } = await threadFromMessage(bed);
    const early = await thread.send('before');
    await thread.setArchived(true);
    expect(bed.fake.threads()[0]!.archived).toBe(true);
    await until(() => thread.archived === true, 3000, 'THREAD_UPDATE archived');
    await thread.send('after');
    expect(bed.fake.threads()[0]!.archived).toBe(false);
    await until(() => thread.archived === false, 3000, 'THREAD_UPDATE unarchived');
    bed.fake.moderateThread(thread.id, { locked: true, archived: true });
    await until(() => thread.locked === true && thread.archived === true, 3000, 'THREAD_UPDATE locked');
    expect(await refusal(thread.send('refused'))).toEqual({ status: 400, code: 50083 });
    expect(await refusal(early.edit('edited'))).toEqual({ status: 400, code: 50083 });
    expect(await refusal(thread.setArchived(false))).toEqual({ status: 403, code: 50013 });
    expect(bed.fake.messages(thread.id).map((m) => m.content)).toEqual(['before', 'after']);
    bed.fake.moderateThread(thread.id, { locked: false, archived: false });
    await thread.send('open again');
    expect(bed.fake.threads()[0]).toMatchObject({ archived: false, locked: false, messageCount: 3 });
  });

  it('GIVEN a thread WHEN the bot deletes it without Manage Threads, then with it THEN first 403 / 50013, then THREAD_DELETE takes it out of the client cache, its messages are gone, every request to it is 404 / 10003, and its message stays without it', async () => {
    bed = await bedWith();
    const { starter, thread } = await threadFromMessage(bed);
    await thread.send('part');
    expect(await refusal(thread.delete())).toEqual({ status: 403, code: 50013 });
    await bed.close();
    bed = await bedWith({ botPermissions: P.manageMessages | P.manageThreads });
    const made = await threadFromMessage(bed);
    await made.thread.send('part');
    const deleted: string[] = [];
    bed.client.on('threadDelete', (t) => deleted.push(t.id));
    await made.thread.delete();
    await until(() => deleted.length === 1, 3000, 'threadDelete');
    expect(bed.client.channels.cache.has(made.thread.id)).toBe(false);
    expect(bed.fake.threads(CH.text)).toMatchObject([{ id: made.thread.id, deleted: true, messageCount: 0 }]);
    expect(bed.fake.messages(made.thread.id)).toEqual([]);
    for (const call of [
      bed.client.rest.get(Routes.channel(made.thread.id)),
      bed.client.rest.get(Routes.channelMessages(made.thread.id)),
      bed.client.rest.post(Routes.channelMessages(made.thread.id), { body: { content: 'late' } }),
      bed.client.rest.delete(Routes.channel(made.thread.id)),
    ])
      expect(await refusal(call)).toEqual({ status: 404, code: 10003 });
    const kept = await (cached(bed, CH.text) as TextChannel).messages.fetch({ message: made.starter.id, force: true });
    expect(kept.hasThread).toBe(false);
    expect(starter.id).not.toBe(made.starter.id);
  });

  it('GIVEN a moderator who deletes a thread mid-way THEN discord.js gets THREAD_DELETE and the bot’s next post there is 404 / 10003', async () => {
    bed = await bedWith();
    const { thread } = await threadFromMessage(bed);
    await thread.send('part 1');
    bed.fake.moderateThread(thread.id, 'delete');
    await until(() => !bed!.client.channels.cache.has(thread.id), 3000, 'THREAD_DELETE');
    expect(await refusal(bed.client.rest.post(Routes.channelMessages(thread.id), { body: { content: 'part 2' } }))).toEqual({
      status: 404,
      code: 10003,
    });
    expect(() => bed!.fake.moderateThread(thread.id, { archived: true })).toThrow(/no thread/);
  });

  it('GIVEN a channel where the bot lacks Create Public Threads and one where it lacks Send Messages in Threads THEN starting a thread there, or posting in the thread, is 403 / 50013, posting in the channels still works, and app_permissions say so', async () => {
    bed = await bedWith();
    const noCreate = await (cached(bed, CH.noCreate) as TextChannel).send('progress');
    expect(await refusal(noCreate.startThread({ name: 'no' }))).toEqual({ status: 403, code: 50013 });
    expect(await refusal((cached(bed, CH.noCreate) as TextChannel).threads.create({ name: 'no', type: ChannelType.PublicThread }))).toEqual({
      status: 403,
      code: 50013,
    });
    const noSend = await (cached(bed, CH.noSend) as TextChannel).send('progress');
    const thread = await noSend.startThread({ name: 'made, but not for posting' });
    expect(await refusal(thread.send({ content: 'part', files: [{ attachment: randomBytes(10), name: 'p' }] }))).toEqual({
      status: 403,
      code: 50013,
    });
    expect(bed.fake.threads()).toHaveLength(1);
    const seen = new Map<string, { create: boolean; send: boolean }>();
    bed.client.on('interactionCreate', (i) => {
      if (!i.isChatInputCommand()) return;
      seen.set(i.channelId, { create: i.appPermissions.has(P.createPublic), send: i.appPermissions.has(P.sendInThreads) });
      i.reply({ content: 'ok', flags: MessageFlags.Ephemeral }).catch((e: unknown) => bed!.errors.push(e));
    });
    for (const id of [CH.text, CH.noCreate, CH.noSend])
      await (await bed.fake.sendInteraction({ name: 'split', channelId: id })).waitForResponse(3000);
    expect(Object.fromEntries(seen)).toEqual({
      [CH.text]: { create: true, send: true },
      [CH.noCreate]: { create: false, send: true },
      [CH.noSend]: { create: true, send: false },
    });
  });

  it('GIVEN a text channel WHEN discord.js creates a thread without a message THEN it is type 11 with an id of its own, the channel gets a THREAD_CREATED system message, and without a type Discord makes it private (12)', async () => {
    bed = await bedWith();
    const text = cached(bed, CH.text) as TextChannel;
    const thread = await text.threads.create({ name: 'lane 2', type: ChannelType.PublicThread });
    expect(thread.type).toBe(ChannelType.PublicThread);
    expect(thread.parentId).toBe(CH.text);
    const system = (await bed.client.rest.get(Routes.channelMessages(CH.text))) as { type: number; content: string }[];
    expect(system.map((m) => [m.type, m.content])).toEqual([[18, 'lane 2']]);
    const untyped = (await bed.client.rest.post(Routes.threads(CH.text), { body: { name: 'untyped' } })) as { type: number };
    expect(untyped.type).toBe(12);
    await until(() => text.threads.cache.size === 2, 3000, 'both threads cached');
  });

  it('GIVEN a forum channel WHEN discord.js makes a post with a file THEN the post is a public thread whose first message has its id and the bytes; posting in the forum itself is 400 / 50008, a post without a message 400 / 50035, and a channel option naming the forum resolves as type 15', async () => {
    bed = await bedWith();
    const forum = cached(bed, CH.forum) as ForumChannel;
    expect(forum.type).toBe(ChannelType.GuildForum);
    const bytes = randomBytes(5000);
    const post = await forum.threads.create({
      name: 'holiday.mkv',
      message: { content: 'progress', files: [{ attachment: bytes, name: 'manifest.json' }] },
    });
    expect(post.type).toBe(ChannelType.PublicThread);
    expect(post.parentId).toBe(CH.forum);
    const [first] = bed.fake.messages(post.id);
    expect(first).toMatchObject({ id: post.id, content: 'progress' });
    expect(sha256(bed.fake.attachmentBytes(first!.attachments[0]!.id))).toBe(sha256(bytes));
    expect((await post.fetchStarterMessage())?.id).toBe(post.id);
    await post.send('a part');
    expect(bed.fake.messages(post.id)).toHaveLength(2);
    expect(await refusal(bed.client.rest.post(Routes.channelMessages(CH.forum), { body: { content: 'x' } }))).toEqual({ status: 400, code: 50008 });
    expect(await refusal(bed.client.rest.post(Routes.threads(CH.forum), { body: { name: 'no message' } }))).toEqual({ status: 400, code: 50035 });
    let resolved: { type: ChannelType; id: string } | undefined;
    bed.client.on('interactionCreate', (i) => {
      if (!i.isChatInputCommand()) return;
      const c = i.options.getChannel('channel', true);
      resolved = { type: c.type, id: c.id };
      i.reply({ content: 'ok', flags: MessageFlags.Ephemeral }).catch((e: unknown) => bed!.errors.push(e));
    });
    await (await bed.fake.sendInteraction({ name: 'split', options: [{ name: 'channel', type: 7, value: CH.forum }] })).waitForResponse(3000);
    expect(resolved).toEqual({ type: ChannelType.GuildForum, id: CH.forum });
  });

  it('GIVEN an active and an archived thread WHEN a new discord.js client logs in (a restarted bot) THEN its GUILD_CREATE brings the active thread into its cache, not the archived one', async () => {
    bed = await bedWith();
    const active = await threadFromMessage(bed, 'active');
    const archived = await threadFromMessage(bed, 'archived');
    await archived.thread.setArchived(true);
    const again = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: bed.fake.apiUrl, timeout: 5000 } });
    try {
      const ready = new Promise<void>((resolve) => again.once('clientReady', () => resolve()));
      await withTimeout(again.login(bed.fake.token), 5000, 'login');
      await withTimeout(ready, 5000, 'clientReady');
      const seen = again.channels.cache.get(active.thread.id);
      expect(seen?.isThread() && seen.parentId).toBe(CH.text);
      expect(again.channels.cache.has(archived.thread.id)).toBe(false);
    } finally {
      await again.destroy();
    }
  });

  it('GIVEN a thread WHEN a member runs a command in it, and one naming it as a channel option THEN discord.js sees the thread as the channel, the public reply is a message of the thread, and the option resolves as a public thread', async () => {
    bed = await bedWith();
    const { thread } = await threadFromMessage(bed);
    const seen: { channel: string; isThread: boolean; option: ChannelType | null }[] = [];
    bed.client.on('interactionCreate', (i) => {
      if (!i.isChatInputCommand()) return;
      seen.push({ channel: i.channelId, isThread: i.channel?.isThread() ?? false, option: i.options.getChannel('channel')?.type ?? null });
      i.reply('in the thread').catch((e: unknown) => bed!.errors.push(e));
    });
    const h = await bed.fake.sendInteraction({ name: 'status', channelId: thread.id });
    await h.waitForResponse(3000);
    await (await bed.fake.sendInteraction({ name: 'split', options: [{ name: 'channel', type: 7, value: thread.id }] })).waitForResponse(3000);
    expect(seen).toEqual([
      { channel: thread.id, isThread: true, option: null },
      { channel: CH.text, isThread: false, option: ChannelType.PublicThread },
    ]);
    expect(bed.fake.messages(thread.id).map((m) => m.interactionId)).toEqual([h.id]);
  });

  it('GIVEN a hold fault on starting a thread THEN the thread is made only once the test releases it, and a hold on the thread routes works as on message creates', async () => {
    bed = await bedWith();
    const starter = await (cached(bed, CH.text) as TextChannel).send('progress');
    const held = heldAnswer();
    bed.fake.faults.add({ route: 'POST /channels/:id/messages/:mid/threads', kind: 'hold', until: held.hold });
    const started = starter.startThread({ name: 'held' });
    await until(() => bed!.fake.pendingRequests().some((q) => q.route === 'POST /channels/:id/messages/:mid/threads'), 3000, 'the held request');
    expect(bed.fake.threads()).toEqual([]);
    held.release();
    const thread = await withTimeout(started, 3000, 'the thread once released');
    expect(bed.fake.threads().map((t) => t.id)).toEqual([thread.id]);
    const heldPost = heldAnswer();
    bed.fake.faults.add({ route: 'POST /channels/:id/threads', kind: 'hold', until: heldPost.hold });
    const lane = (cached(bed, CH.text) as TextChannel).threads.create({ name: 'lane', type: ChannelType.PublicThread });
    await until(() => bed!.fake.pendingRequests().some((q) => q.route === 'POST /channels/:id/threads'), 3000, 'the held thread create');
    expect(bed.fake.threads()).toHaveLength(1);
    heldPost.release();
    await withTimeout(lane, 3000, 'the lane once released');
    expect(bed.fake.threads()).toHaveLength(2);
  });

  it('GIVEN a forum post, an archived thread and a deleted one WHEN discord.js asks for the guild’s active threads THEN only the live ones come, each with its parent and the bot as owner, and the post’s first message is read by the post’s id', async () => {
    bed = await bedWith();
    const post = await (cached(bed, CH.forum) as ForumChannel).threads.create({ name: 'post.bin', message: { content: 'progress `upload_abc123`' } });
    const open = await threadFromMessage(bed, 'open');
    const archived = await threadFromMessage(bed, 'archived');
    await archived.thread.setArchived(true);
    const deleted = await threadFromMessage(bed, 'deleted');
    bed.fake.moderateThread(deleted.thread.id, 'delete');
    const { threads } = (await bed.client.rest.get(Routes.guildActiveThreads(GUILD))) as {
      threads: { id: string; parent_id: string; owner_id: string }[];
    };
    expect(threads.map(({ id, parent_id, owner_id }) => ({ id, parent_id, owner_id })).sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: post.id, parent_id: CH.forum, owner_id: BOT },
      { id: open.thread.id, parent_id: CH.text, owner_id: BOT },
    ]);
    const fetched = await bed.client.guilds.cache.get(GUILD)!.channels.fetchActiveThreads();
    expect([...fetched.threads.keys()].sort()).toEqual([post.id, open.thread.id].sort());
    const first = (await bed.client.rest.get(Routes.channelMessage(post.id, post.id))) as { author: { id: string }; content: string };
    expect(first).toMatchObject({ author: { id: BOT }, content: 'progress `upload_abc123`' });
  });
});
