/**
 * A forum channel as a transfer's `channel:` (README, 'Parts in a thread'): each transfer is a
 * post whose first message is the progress message. Every link to that message names the post,
 * and a post Discord made but the record never got (a kill in between) is taken up, not made twice.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { heldAnswer, waitUntil } from '../support/held.js';
import { freePort } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';
import { rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';
import { dashboardLink, signIn } from '../support/web.js';

const GENERAL = '1330000000000000002';
const FORUM = '1330000000000000003';
const SECRET = 'forum-test-secret-0123456789abcdef01';

describe('GIVEN a forum channel and the web page on', () => {
  let fx: BotFixture;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    fx = await startBotFixture({
      fake: {
        channels: [
          { id: GENERAL, name: 'general' },
          { id: FORUM, name: 'files', type: 15 },
        ],
      },
      env: { PARTS_IN: 'thread', MAX_ACTIVE_TRANSFERS: '10', MAX_CHUNKS_PER_MESSAGE: '1', WEB_PORT: String(port), WEB_SECRET: SECRET },
    });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  /** A /split from #general naming the forum as `channel:`; the transfer's id. */
  const splitToForum = (name: string) =>
    fx.split(name, { chunkSizeMiB: 1, channelId: GENERAL, options: [{ name: 'channel', type: 7, value: FORUM }] });

  /** The hrefs of the progress message links in a page of the web page, as a session of the administrator sees it. */
  async function progressLinks(route: string): Promise<string[]> {
    const { link } = await dashboardLink(fx, { permissions: PERMISSIONS.ADMINISTRATOR });
    const { cookie } = await signIn(link!);
    const html = await (await fetch(`${base}${route}`, { headers: { cookie: cookie! } })).text();
    return [...html.matchAll(/data-field="progress-link" href="([^"]+)"/g)].map((m) => m[1]!);
  }

  it('WHEN a /split into it completes THEN /status, the dashboard and the transfer page link the progress message in its post', async () => {
    await writeSeededFile(path.join(fx.filesRoot, 'linked.bin'), 2 * MIB + 3, 91);
    const id = await splitToForum('linked.bin');
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    const post = fx.fake.threads(FORUM).find((x) => x.id === t.progress_message_id)!;
    expect(fx.fake.messages(post.id)[0]?.id).toBe(t.progress_message_id);
    const url = `https://discord.com/channels/${fx.fake.guildId}/${post.id}/${t.progress_message_id}`;

    const status = await fx.command({ name: 'status', channelId: GENERAL, options: [{ name: 'transfer', type: 3, value: id }] });
    await status.waitFor((h) => Boolean(h.original()?.content), 5_000);
    expect(status.original()?.content).toContain(`progress: ${url}`);

    expect(await progressLinks(`/transfers/${id}`)).toEqual([url]);
    expect(await progressLinks('/')).toContain(url);
    expect(t.progress_channel_id).toBe(post.id);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });

  it('WHEN the bot is killed after Discord made the post but before the record had it THEN the next run takes that post up: one post, the transfer completes there, each part once', async () => {
    const name = 'killed-post.bin';
    const file = await writeSeededFile(path.join(fx.filesRoot, name), 3 * MIB + 1, 92);
    const held = heldAnswer();
    const isPost = (r: { route: string; path: string }) => r.route === 'POST /channels/:id/threads' && r.path === `/channels/${FORUM}/threads`;
    // Discord's processing held once the whole body is in: the post is made when released, after the kill.
    fx.fake.faults.add({ route: isPost, kind: 'hold', afterBody: true, until: held.hold, times: 1 });
    const id = await splitToForum(name);
    await waitUntil(() => fx.fake.pendingRequests().some((r) => isPost(r) && r.fault === 'hold' && r.bodyAt !== undefined), 'the post held');
    await fx.bot.kill('SIGKILL');
    held.release();
    await waitUntil(() => fx.fake.threads(FORUM).some((x) => x.name === name), 'the post made after the kill');
    expect((await fx.transfer(id)).progress_message_id).toBeNull();

    await fx.restartBot();
    const t = await fx.waitForStatus(id, ['complete', 'error'], 30_000);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    const posts = fx.fake.threads(FORUM).filter((x) => x.name === name);
    expect(posts.map((x) => x.id)).toEqual([t.progress_message_id]);
    expect(t.progress_channel_id).toBe(posts[0]!.id);
    expect(t.threads).toEqual([{ id: posts[0]!.id, lane: 0 }]);
    const parts = fx.fake
      .messages()
      .flatMap((m) => m.attachments.map((a) => a.filename))
      .filter((f) => f.startsWith(t.file_name) && f.includes('.part'));
    expect(parts.sort()).toEqual(['001', '002', '003', '004'].map((n) => `${t.file_name}.part${n}`));
    expect(rebuildFromFake(fx.fake, id, posts[0]!.id).sha256).toBe(file);
    await waitUntil(() => /✅ complete/.test(fx.fake.messages(posts[0]!.id)[0]?.content ?? ''), 'the end state in the post');
  });
});
