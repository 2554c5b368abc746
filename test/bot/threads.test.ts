/**
 * PARTS_IN=thread (README, 'Parts in a thread'): the progress message in the channel, a public
 * thread started from it, the parts and the manifest in the thread, the thread archived at the
 * end; the bot as its own process against the fake Discord.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { runCli } from '../cli/run-cli.js';
import { waitUntil } from '../support/held.js';
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
