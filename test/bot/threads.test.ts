/**
 * PARTS_IN=thread (README, 'Parts in a thread'): the progress message in the channel, a public
 * thread started from it, the parts and the manifest in the thread, the thread archived at the
 * end; the bot as its own process against the fake Discord.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { runCli } from '../cli/run-cli.js';
import { holdAfterParts, waitUntil } from '../support/held.js';
import { freePort } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { sha256, sha256File } from '../support/hash.js';
import { tempDir } from '../support/temp.js';
import { MIB } from '../support/units.js';

const SECRET = 'threads-test-secret-0123456789abcdef';

/** The transfer's messages (its id in their text) in one channel or thread. */
function messagesOf(fx: BotFixture, transferId: string, channelId: string) {
  return fx.fake.messages(channelId).filter((m) => m.content.includes(transferId));
}

describe('GIVEN PARTS_IN=thread and the web page on', () => {
  let fx: BotFixture;

  beforeAll(async () => {
    fx = await startBotFixture({
      env: { PARTS_IN: 'thread', WEB_PORT: String(await freePort()), WEB_SECRET: SECRET, MAX_ACTIVE_TRANSFERS: '10' },
    });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('WHEN a /split completes THEN the channel shows one message, the parts and manifest are in a thread started from it, archived, and join and the Download button give the file back', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const file = await writeSeededFile(path.join(fx.filesRoot, 'in a thread.bin'), 4 * MIB + 5, 61);
    const id = await fx.split('in a thread.bin', { chunkSizeMiB: 1, channelId });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');

    // The channel: the progress message (and the command's reply), no part or manifest.
    expect(messagesOf(fx, id, channelId).map((m) => m.id)).toContain(t.progress_message_id);
    expect(messagesOf(fx, id, channelId).filter((m) => m.attachments.length > 0)).toEqual([]);
    // The thread: started from it (its id), named after the file, with the parts and the manifest.
    const [thread] = fx.fake.threads(channelId);
    expect(thread).toMatchObject({ id: t.progress_message_id, name: t.file_name, type: 11, deleted: false });
    expect(t.threads).toEqual([{ id: thread!.id, lane: 0 }]);
    expect(t.manifest_channel_id).toBe(thread!.id);
    expect(t.parts.map((p) => p.channel_id)).toEqual(Array(5).fill(thread!.id));
    const rebuilt = rebuildFromFake(fx.fake, id, thread!.id);
    expect(rebuilt.sha256).toBe(file);
    expect(rebuilt.manifest.chunks.map((c) => c.channel_id)).toEqual(Array(5).fill(thread!.id));
    expect(postedPartNames(fx.fake, id)).toHaveLength(5);
    await waitUntil(() => fx.fake.threads(channelId)[0]?.archived === true, 'the thread archived');

    // The progress message's end: the thread and the manifest in it linked.
    const progress = fx.fake.messages(channelId).find((m) => m.id === t.progress_message_id)!;
    expect(progress.content).toContain(`<#${thread!.id}>`);
    expect(progress.content).toContain(`https://discord.com/channels/${fx.fake.guildId}/${thread!.id}/${t.manifest_message_id}`);

    // join --channel <thread> --message <manifest>.
    const dir = await tempDir();
    const out = path.join(dir, 'rebuilt.bin');
    const env = { DISCORD_TOKEN: fx.fake.token, DISCORD_API_URL: fx.fake.apiUrl, RETRY_BACKOFF_BASE_MS: '20' };
    const run = await runCli(['join', '--channel', thread!.id, '--message', t.manifest_message_id!, '--out', out], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await sha256File(out)).toBe(file);

    // The Download button's link (a download link) fetches every part from the thread.
    const withButton = () => fx.fake.messages(channelId).find((m) => m.id === t.progress_message_id && (m.components?.length ?? 0) > 0);
    await waitUntil(() => withButton() !== undefined, 'the Download button');
    const rows = withButton()!.components as { components: { url: string }[] }[];
    const res = await fetch(rows[0]!.components[0]!.url);
    expect(res.status).toBe(200);
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(await readFile(path.join(fx.filesRoot, 'in a thread.bin'))));
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});

/** Each part of a transfer in the live messages, by name: a part posted twice shows twice. */
function livePartNames(fx: BotFixture, transferId: string): string[] {
  return fx.fake
    .messages()
    .filter((m) => m.content.includes(transferId))
    .flatMap((m) => m.attachments.filter((a) => a.filename.includes('.part')).map((a) => a.filename))
    .sort();
}

const partNames = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}.part${String(i + 1).padStart(3, '0')}`);

describe('GIVEN PARTS_IN=thread and a moderator at work', () => {
  let fx: BotFixture;

  beforeAll(async () => {
    // One part a message, so a hold lands between parts.
    fx = await startBotFixture({ env: { PARTS_IN: 'thread', MAX_CHUNKS_PER_MESSAGE: '1', MAX_ACTIVE_TRANSFERS: '10' } });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('WHEN the thread is deleted mid-transfer THEN the transfer ends error with a clear note, and /resume finishes it in a new thread, each part once', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const file = await writeSeededFile(path.join(fx.filesRoot, 'deleted.bin'), 5 * MIB, 62);
    const held = holdAfterParts(fx.fake, 2);
    const id = await fx.split('deleted.bin', { chunkSizeMiB: 1, channelId });
    await waitUntil(() => held.posted() >= 2 && fx.fake.pendingRequests().some((r) => r.fault === 'hold'), 'a part held after two');
    const threadId = (await fx.transfer(id)).threads[0]!.id;
    fx.fake.moderateThread(threadId, 'delete');
    held.release();
    const failed = await fx.waitForStatus(id, ['complete', 'error']);
    expect(failed.status).toBe('error');
    expect(failed.notes.at(-1)).toMatch(/thread <#\d+> is gone \(deleted\?\); \/resume posts the rest in a new thread/);

    const handle = await fx.command({ name: 'resume', permissions: PERMISSIONS.ADMINISTRATOR, options: [{ name: 'transfer', type: 3, value: id }] });
    await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
    await waitUntil(() => fx.fake.threads(channelId).some((t) => !t.deleted), 'a new thread');
    const t = await fx.waitForStatus(id, ['complete'], 30_000);
    const live = fx.fake.threads(channelId).find((x) => !x.deleted)!;
    expect(t.parts.every((p) => p.channel_id === live.id)).toBe(true);
    expect(livePartNames(fx, id)).toEqual(partNames(t.file_name, 5));
    expect(rebuildFromFake(fx.fake, id, live.id).sha256).toBe(file);
  });

  it('WHEN a transfer ends error (its thread archived) THEN /resume posts the rest in the same thread, which it reopens, and archives it again', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const file = await writeSeededFile(path.join(fx.filesRoot, 'refused.bin'), 3 * MIB, 65);
    // The progress message is in the channel; the second part's message in the thread is refused once.
    fx.fake.faults.add({
      route: (r) => r.route === 'POST /channels/:id/messages' && r.path !== `/channels/${channelId}/messages`,
      kind: 'status',
      status: 400,
      body: { message: 'Invalid Form Body', code: 50035 },
      after: 1,
      times: 1,
    });
    const id = await fx.split('refused.bin', { chunkSizeMiB: 1, channelId });
    const failed = await fx.waitForStatus(id, ['complete', 'error']);
    expect(failed.status).toBe('error');
    const threadId = failed.threads[0]!.id;
    await waitUntil(() => fx.fake.threads(channelId).find((x) => x.id === threadId)?.archived === true, 'the thread archived');

    const handle = await fx.command({ name: 'resume', permissions: PERMISSIONS.ADMINISTRATOR, options: [{ name: 'transfer', type: 3, value: id }] });
    await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
    const t = await fx.waitForStatus(id, ['complete'], 30_000);
    expect(t.threads).toEqual(failed.threads);
    expect(t.parts.every((p) => p.channel_id === threadId)).toBe(true);
    expect(livePartNames(fx, id)).toEqual(partNames(t.file_name, 3));
    expect(rebuildFromFake(fx.fake, id, threadId).sha256).toBe(file);
    await waitUntil(() => fx.fake.threads(channelId).find((x) => x.id === threadId)?.archived === true, 'the thread archived again');
  });

  it('WHEN the thread is archived and locked mid-transfer THEN the transfer ends error with a note saying so', async () => {
    await writeSeededFile(path.join(fx.filesRoot, 'locked.bin'), 5 * MIB, 63);
    const held = holdAfterParts(fx.fake, fx.fake.messages().filter((m) => m.attachments.length > 0).length + 2);
    const id = await fx.split('locked.bin', { chunkSizeMiB: 1 });
    await waitUntil(() => fx.fake.pendingRequests().some((r) => r.fault === 'hold'), 'a part held after two');
    fx.fake.moderateThread((await fx.transfer(id)).threads[0]!.id, { archived: true, locked: true });
    held.release();
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status).toBe('error');
    expect(t.notes.at(-1)).toMatch(/thread <#\d+> is archived and locked; unlock it, then \/resume/);
  });

  it('WHEN the bot is killed mid-transfer and started again THEN the run resumes in the same thread and posts each part once', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const file = await writeSeededFile(path.join(fx.filesRoot, 'killed.bin'), 5 * MIB, 64);
    const held = holdAfterParts(fx.fake, fx.fake.messages().filter((m) => m.attachments.length > 0).length + 2);
    const id = await fx.split('killed.bin', { chunkSizeMiB: 1, channelId });
    await waitUntil(() => fx.fake.pendingRequests().some((r) => r.fault === 'hold'), 'a part held after two');
    const before = await fx.transfer(id);
    await fx.bot.kill('SIGKILL');
    held.release();
    await fx.restartBot();
    const t = await fx.waitForStatus(id, ['complete', 'error'], 30_000);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(t.threads).toEqual(before.threads);
    expect(fx.fake.threads(channelId).filter((x) => x.name === t.file_name)).toHaveLength(1);
    expect(livePartNames(fx, id)).toEqual(partNames(t.file_name, 5));
    expect(rebuildFromFake(fx.fake, id, before.threads[0]!.id).sha256).toBe(file);
  });
});

describe('GIVEN a forum channel', () => {
  const GENERAL = '1330000000000000002';
  const FORUM = '1330000000000000003';
  let fx: BotFixture;

  beforeAll(async () => {
    fx = await startBotFixture({
      fake: {
        channels: [
          { id: GENERAL, name: 'general' },
          { id: FORUM, name: 'files', type: 15 },
        ],
      },
      env: { PARTS_IN: 'thread', MAX_ACTIVE_TRANSFERS: '10', WEB_PORT: String(await freePort()), WEB_SECRET: SECRET },
    });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  /** A /split from #general naming the forum as `channel:`, to its end. */
  async function splitToForum(name: string, seed: number) {
    const file = await writeSeededFile(path.join(fx.filesRoot, name), 3 * MIB + 9, seed);
    const id = await fx.split(name, { chunkSizeMiB: 1, channelId: GENERAL, options: [{ name: 'channel', type: 7, value: FORUM }] });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    return { file, t };
  }

  /** The transfer is a post of its own: its first message the progress message, then the parts and the manifest; archived at the end. */
  async function expectOwnPost(t: Awaited<ReturnType<typeof splitToForum>>['t'], file: string) {
    const post = fx.fake.threads(FORUM).find((x) => x.id === t.progress_message_id);
    expect(post).toMatchObject({ name: t.file_name, type: 11, deleted: false });
    expect(t.threads).toEqual([{ id: post!.id, lane: 0 }]);
    expect(t.manifest_channel_id).toBe(post!.id);
    expect(t.parts.every((p) => p.channel_id === post!.id)).toBe(true);
    const [first] = fx.fake.messages(post!.id);
    expect(first!.id).toBe(t.progress_message_id);
    await waitUntil(() => /✅ complete/.test(fx.fake.messages(post!.id)[0]?.content ?? ''), 'the end state in the post');
    expect(rebuildFromFake(fx.fake, t.id, post!.id).sha256).toBe(file);
    await waitUntil(() => fx.fake.threads(FORUM).find((x) => x.id === post!.id)?.archived === true, 'the post archived');
  }

  it('WHEN a /split names it with PARTS_IN=thread THEN the transfer is a new post whose first message is the progress message, with the parts and the manifest', async () => {
    const { file, t } = await splitToForum('forum.bin', 81);
    await expectOwnPost(t, file);
  });

  it('WHEN /share revoke:true after the post was archived THEN the Download button is taken off its first message all the same, and the post archived again', async () => {
    const { file, t } = await splitToForum('forum-revoked.bin', 83);
    await expectOwnPost(t, file);
    const first = () => fx.fake.messages(t.progress_message_id!)[0]!;
    await waitUntil(() => (first().components?.length ?? 0) > 0, 'the Download button');
    const handle = await fx.command({
      name: 'share',
      permissions: PERMISSIONS.ADMINISTRATOR,
      channelId: GENERAL,
      options: [
        { name: 'transfer', type: 3, value: t.id },
        { name: 'revoke', type: 5, value: true },
      ],
    });
    expect(handle.original()?.content).toMatch(/stopped working/);
    let landed = false;
    for (let i = 0; i < 400 && !landed; i++) {
      landed = (await fx.transfer(t.id)).progress_edit_landed;
      if (!landed) await new Promise((r) => setTimeout(r, 50));
    }
    expect(landed).toBe(true);
    expect(first().components ?? []).toEqual([]);
    await waitUntil(() => fx.fake.threads(FORUM).find((x) => x.id === t.progress_message_id)?.archived === true, 'the post archived again');
  });

  it('WHEN a /split names it with PARTS_IN=channel THEN it is a post all the same (the only way to post in a forum)', async () => {
    await fx.restartBot({ PARTS_IN: 'channel' });
    const { file, t } = await splitToForum('forum-channel-mode.bin', 82);
    await expectOwnPost(t, file);
    expect(fx.fake.threads(FORUM)).toHaveLength(3);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});
