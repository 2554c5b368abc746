/**
 * Lanes (README, 'Lanes'): with PARTS_IN=thread and MAX_PARALLEL_UPLOADS = 3, a transfer posts
 * its parts through its own thread and two more threads in the channel; the bot as its own
 * process against the fake Discord. Answers are held so that three messages are in flight at
 * once, which is when the parts spread over the three lanes.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { runCli } from '../cli/run-cli.js';
import { heldAnswer, waitUntil } from '../support/held.js';
import { freePort } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { sha256, sha256File } from '../support/hash.js';
import { tempDir } from '../support/temp.js';
import { MIB } from '../support/units.js';
import type { FakeDiscord } from '../support/fake-discord/types.js';

const SECRET = 'lanes-test-secret-0123456789abcdef012';
const MESSAGE_CREATE = 'POST /channels/:id/messages';

const partNames = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}.part${String(i + 1).padStart(3, '0')}`);

/** Holds the answers to the next `n` part messages (posted outside `channelId`) until the test lets them go. */
function holdParts(fake: FakeDiscord, channelId: string, n: number) {
  const held = heldAnswer();
  fake.faults.add({
    route: (r) => r.route === MESSAGE_CREATE && r.path !== `/channels/${channelId}/messages`,
    kind: 'hold',
    afterBody: true,
    until: held.hold,
    times: n,
  });
  const pending = () => fake.pendingRequests().filter((r) => r.fault === 'hold' && r.route === MESSAGE_CREATE);
  return { ...held, pending };
}

describe('GIVEN PARTS_IN=thread, MAX_PARALLEL_UPLOADS=3 and the web page on', () => {
  let fx: BotFixture;

  beforeAll(async () => {
    fx = await startBotFixture({
      env: {
        PARTS_IN: 'thread',
        MAX_PARALLEL_UPLOADS: '3',
        MAX_CHUNKS_PER_MESSAGE: '1',
        WEB_PORT: String(await freePort()),
        WEB_SECRET: SECRET,
        MAX_ACTIVE_TRANSFERS: '10',
        // A retry comes well after the answers the test lets go.
        RETRY_BACKOFF_BASE_MS: '1000',
      },
    });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('WHEN a /split completes THEN its parts are spread over three threads, each once, recorded where they are, and join, the Download button and the archive cover every lane', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const file = await writeSeededFile(path.join(fx.filesRoot, 'three lanes.bin'), 6 * MIB + 7, 81);
    const held = holdParts(fx.fake, channelId, 3);
    const id = await fx.split('three lanes.bin', { chunkSizeMiB: 1, channelId });
    // Three messages with Discord at once: one in each lane.
    await waitUntil(() => held.pending().length === 3, 'three part messages held');
    expect(new Set(held.pending().map((r) => r.path)).size).toBe(3);
    held.release();
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');

    const threads = fx.fake.threads(channelId);
    const name = t.file_name;
    expect(threads.map((x) => x.name).sort()).toEqual([name, `${name} · 2/3`, `${name} · 3/3`]);
    const byName = new Map(threads.map((x) => [x.name, x.id]));
    expect(t.threads).toEqual([
      { id: t.progress_message_id, lane: 0 },
      { id: byName.get(`${name} · 2/3`), lane: 1 },
      { id: byName.get(`${name} · 3/3`), lane: 2 },
    ]);
    const laneIds = t.threads.map((x) => x.id);
    // Each part once, each lane at least one, each recorded in the thread the fake stored it in.
    expect(postedPartNames(fx.fake, id).sort()).toEqual(partNames(t.file_name, 7));
    for (const laneId of laneIds) expect(t.parts.some((p) => p.channel_id === laneId)).toBe(true);
    for (const p of t.parts) expect(fx.fake.messages(p.channel_id).some((m) => m.id === p.message_id)).toBe(true);
    expect(t.manifest_channel_id).toBe(laneIds[0]);
    const rebuilt = rebuildFromFake(fx.fake, id);
    expect(rebuilt.sha256).toBe(file);
    expect(rebuilt.manifest.chunks.map((c) => c.channel_id)).toEqual(t.parts.map((p) => p.channel_id));
    // Nothing but the progress message (and Discord's notes of the threads made) in the channel.
    expect(fx.fake.messages(channelId).filter((m) => m.content.includes(id) && m.attachments.length > 0)).toEqual([]);
    await waitUntil(() => threads.every((x) => fx.fake.threads(channelId).find((y) => y.id === x.id)?.archived === true), 'every lane archived');

    // The progress message links every lane.
    await waitUntil(
      () => fx.fake.messages(channelId).some((m) => m.id === t.progress_message_id && m.content.includes('✅ complete')),
      'the end state',
    );
    const progress = fx.fake.messages(channelId).find((m) => m.id === t.progress_message_id)!;
    expect(progress.content).toContain(`🧵 parts in ${laneIds.map((x) => `<#${x}>`).join(' ')}`);

    const dir = await tempDir();
    const out = path.join(dir, 'rebuilt.bin');
    const env = { DISCORD_TOKEN: fx.fake.token, DISCORD_API_URL: fx.fake.apiUrl, RETRY_BACKOFF_BASE_MS: '20' };
    const run = await runCli(['join', '--channel', laneIds[0]!, '--message', t.manifest_message_id!, '--out', out], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await sha256File(out)).toBe(file);

    const withButton = () => fx.fake.messages(channelId).find((m) => m.id === t.progress_message_id && (m.components?.length ?? 0) > 0);
    await waitUntil(() => withButton() !== undefined, 'the Download button');
    const rows = withButton()!.components as { components: { url: string }[] }[];
    const res = await fetch(rows[0]!.components[0]!.url);
    expect(res.status).toBe(200);
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(await readFile(path.join(fx.filesRoot, 'three lanes.bin'))));
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });

  it('WHEN two /split into one channel start at once THEN each makes its own three lanes and posts each of its parts once, only there', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const files = await Promise.all(['twin a.bin', 'twin b.bin'].map((n, i) => writeSeededFile(path.join(fx.filesRoot, n), 5 * MIB + 1, 84 + i)));
    const ids = await Promise.all(['twin a.bin', 'twin b.bin'].map((n) => fx.split(n, { chunkSizeMiB: 1, channelId })));
    const ended = await Promise.all(ids.map((id) => fx.waitForStatus(id, ['complete', 'error'])));
    for (const [i, t] of ended.entries()) {
      expect(t.status, t.notes.join('; ')).toBe('complete');
      expect(t.threads.map((l) => l.lane)).toEqual([0, 1, 2]);
      const own = new Set(t.threads.map((l) => l.id));
      expect(t.parts.every((p) => own.has(p.channel_id!))).toBe(true);
      expect(postedPartNames(fx.fake, t.id).sort()).toEqual(partNames(t.file_name, 6));
      expect(rebuildFromFake(fx.fake, t.id).sha256).toBe(files[i]);
    }
    // Six threads, none shared.
    expect(new Set(ended.flatMap((t) => t.threads.map((l) => l.id))).size).toBe(6);
  });

  it('WHEN join rebuilds a transfer of twelve part messages THEN its stderr stays empty: no abort listener is left on its signal per message fetched', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const file = await writeSeededFile(path.join(fx.filesRoot, 'twelve parts.bin'), 11 * MIB + 5, 83);
    const id = await fx.split('twelve parts.bin', { chunkSizeMiB: 1, channelId });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(new Set(t.parts.map((p) => p.message_id)).size).toBe(12);
    const out = path.join(await tempDir(), 'rebuilt.bin');
    const env = { DISCORD_TOKEN: fx.fake.token, DISCORD_API_URL: fx.fake.apiUrl, RETRY_BACKOFF_BASE_MS: '20' };
    const run = await runCli(['join', '--channel', t.manifest_channel_id!, '--message', t.manifest_message_id!, '--out', out], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await sha256File(out)).toBe(file);
  });

  it('WHEN a /split has fewer part messages than lanes THEN it makes only the lanes it can fill: its own thread for one message, two lanes for two', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const lanesOf = (name: string) => fx.fake.threads(channelId).filter((x) => x.name.startsWith(name));
    for (const [name, size, lanes] of [
      ['one message.bin', MIB, [0]],
      ['two messages.bin', 2 * MIB, [0, 1]],
    ] as const) {
      const file = await writeSeededFile(path.join(fx.filesRoot, name), size, 84);
      const id = await fx.split(name, { chunkSizeMiB: 1, channelId });
      const t = await fx.waitForStatus(id, ['complete', 'error']);
      expect(t.status, t.notes.join('; ')).toBe('complete');
      expect(t.threads.map((x) => x.lane)).toEqual(lanes);
      const expected = lanes.length === 1 ? [t.file_name] : [t.file_name, `${t.file_name} · 2/2`];
      expect(
        lanesOf(t.file_name)
          .map((x) => x.name)
          .sort(),
      ).toEqual(expected);
      expect(postedPartNames(fx.fake, id).sort()).toEqual(partNames(t.file_name, lanes.length));
      expect(rebuildFromFake(fx.fake, id).sha256).toBe(file);
    }
  });

  it('WHEN the manifest is due THEN the lanes holding parts are checked together, not one after another', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const file = await writeSeededFile(path.join(fx.filesRoot, 'checked lanes.bin'), 6 * MIB + 5, 86);
    const held = holdParts(fx.fake, channelId, 3);
    const check = heldAnswer();
    const since = Date.now();
    const isCheck = (r: { route: string; path: string }) => r.route === 'GET /channels/:id' && r.path !== `/channels/${channelId}`;
    fx.fake.faults.add({ route: isCheck, kind: 'hold', until: check.hold, times: 1 });
    const id = await fx.split('checked lanes.bin', { chunkSizeMiB: 1, channelId });
    await waitUntil(() => held.pending().length === 3, 'three part messages held');
    held.release();
    try {
      // The first check held: the second is asked all the same.
      const lanesChecked = () =>
        new Set([...fx.fake.requests, ...fx.fake.pendingRequests()].filter((r) => isCheck(r) && r.time >= since).map((r) => r.path)).size;
      await waitUntil(() => lanesChecked() === 2, 'both lanes checked while the first check is held');
      expect(fx.fake.pendingRequests().filter((r) => isCheck(r) && r.fault === 'hold')).toHaveLength(1);
    } finally {
      check.release();
    }
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(file);
  });

  it('WHEN the answer to a lane thread request is lost THEN its retry takes up the thread Discord made: each lane one thread, none left empty and open', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const file = await writeSeededFile(path.join(fx.filesRoot, 'lost lane.bin'), 6 * MIB + 3, 85);
    fx.fake.faults.add({ route: (r) => r.route === 'POST /channels/:id/threads', kind: 'storeThenDrop', times: 1 });
    const id = await fx.split('lost lane.bin', { chunkSizeMiB: 1, channelId });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(fx.fake.requests.filter((r) => r.route === 'POST /channels/:id/threads' && r.fault === 'storeThenDrop')).toHaveLength(1);
    const mine = () => fx.fake.threads(channelId).filter((x) => x.name.startsWith(t.file_name));
    expect(
      mine()
        .map((x) => x.name)
        .sort(),
    ).toEqual([t.file_name, `${t.file_name} · 2/3`, `${t.file_name} · 3/3`]);
    expect(t.threads.map((x) => x.id).sort()).toEqual(
      mine()
        .map((x) => x.id)
        .sort(),
    );
    await waitUntil(() => mine().every((x) => x.archived), 'every lane archived');
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(file);
  });

  it('WHEN the answer to a part message is lost THEN its retry goes to the lane of its first attempt, though another is free, and Discord answers it with the part it kept: each part once', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const file = await writeSeededFile(path.join(fx.filesRoot, 'lost answer.bin'), 3 * MIB, 82);
    // Three parts: the first two messages held (lanes 1 and 2), the third (lane 3) stored with its answer lost; then nothing keeps lanes 1 and 2 busy.
    const held = holdParts(fx.fake, channelId, 2);
    fx.fake.faults.add({ route: (r) => r.route === MESSAGE_CREATE && r.path !== `/channels/${channelId}/messages`, kind: 'storeThenDrop', times: 1 });
    const id = await fx.split('lost answer.bin', { chunkSizeMiB: 1, channelId });
    const lostPart = (r: { route: string; fault?: string | undefined }) => r.route === MESSAGE_CREATE && r.fault === 'storeThenDrop';
    await waitUntil(() => held.pending().length === 2 && fx.fake.requests.some(lostPart), 'two held, the third lost');
    const lost = fx.fake.requests.find(lostPart)!;
    expect(new Set([...held.pending().map((r) => r.path), lost.path]).size).toBe(3);
    // The lanes of the first two are free again before the retry (RETRY_BACKOFF_BASE_MS).
    held.release();
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(t.retries).toBeGreaterThan(0);
    expect(t.parts.find((p) => p.index === 2)!.channel_id).toBe(lost.path.split('/')[2]);
    expect(postedPartNames(fx.fake, id).sort()).toEqual(partNames(t.file_name, 3));
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(file);
  });
});
