/**
 * Parts posted in more than one channel (a thread is a channel of its own): every reader finds
 * each part in the channel its record or manifest entry names, and one without a channel (an
 * older progress file or manifest) in the transfer's channel. The parts are moved into a second
 * text channel of the fake by hand, as the bot would have posted them there, and the progress
 * file edited while the bot is down.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { freePort } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';
import { tempDir } from '../support/temp.js';
import { MIB } from '../support/units.js';
import { runCli } from '../cli/run-cli.js';
import { parseManifest, type Manifest } from '../../src/transfer/manifest.js';
import type { PartRecord, ProgressFile, TransferRecord } from '../../src/store/schema.js';

const SECRET = 'parts-in-channels-secret-0123456789abcdef';
const GENERAL = '1310000000000000001';
const THREAD = '1310000000000000002';
const SIZE = 6 * MIB - 5; // six parts of 1 MiB, the last 5 bytes short

/** A part entry as versions before channel ids wrote it. */
function withoutChannel<T extends { channel_id?: unknown }>(entry: T): T {
  const copy = { ...entry };
  delete copy.channel_id;
  return copy;
}

describe('parts in more than one channel', () => {
  let fx: BotFixture;
  let env: Record<string, string>;
  /** Parts 1–3 in the channel, 4 and 5 moved to the thread (5 never recorded), 6 recorded there but deleted. */
  let mixed: { id: string; bytes: Buffer; moved: Record<number, { message_id: string; attachment_id: string }> };
  /** A complete transfer whose record and manifest predate channel ids. */
  let old: { id: string; bytes: Buffer; manifestMessageId: string };
  let before: TransferRecord;
  /** A failed transfer: parts 1–3 in the channel, 4 and 5 recorded in the thread, 6 posted there unrecorded. */
  let failed: { id: string };

  const api = (route: string, init: Pick<RequestInit, 'method' | 'body'> = {}) =>
    fetch(`${fx.fake.apiUrl}/v10${route}`, { ...init, headers: { Authorization: `Bot ${fx.fake.token}` } });

  /** Posts one message as the bot, in the sink's words (the transfer id in backticks), carrying one attachment. */
  async function postAs(
    channelId: string,
    transferId: string,
    filename: string,
    data: Buffer,
  ): Promise<{ message_id: string; attachment_id: string }> {
    const form = new FormData();
    form.append('payload_json', JSON.stringify({ content: `\`${transferId}\` moved`, attachments: [{ id: '0', filename }] }));
    form.append('files[0]', new Blob([data]), filename);
    const res = await api(`/channels/${channelId}/messages`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const message = (await res.json()) as { id: string; attachments: { id: string }[] };
    return { message_id: message.id, attachment_id: message.attachments[0]!.id };
  }

  async function remove(channelId: string, messageId: string): Promise<void> {
    expect((await api(`/channels/${channelId}/messages/${messageId}`, { method: 'DELETE' })).status).toBe(204);
  }

  async function splitWhole(name: string, seed: number): Promise<{ id: string; bytes: Buffer; t: TransferRecord }> {
    await writeSeededFile(path.join(fx.filesRoot, name), SIZE, seed);
    const id = await fx.split(name, { chunkSizeMiB: 1, permissions: PERMISSIONS.ADMINISTRATOR });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    return { id, bytes: await readFile(path.join(fx.filesRoot, name)), t };
  }

  function manifestOf(channelId: string, messageId: string): Manifest {
    const message = fx.fake.messages(channelId).find((m) => m.id === messageId);
    if (!message) throw new Error(`no message ${messageId} in ${channelId}`);
    return parseManifest(JSON.parse(fx.fake.attachmentBytes(message.attachments[0]!.id).toString('utf8')));
  }

  async function share(id: string): Promise<string> {
    const handle = await fx.command({ name: 'share', permissions: PERMISSIONS.ADMINISTRATOR, options: [{ name: 'transfer', type: 3, value: id }] });
    await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
    const content = handle.original()?.content ?? '';
    return /(http:\/\/\S+\/d\/\S+)/.exec(content)?.[1] ?? content;
  }

  async function join(channelId: string, messageId: string): Promise<Buffer> {
    const out = path.join(await tempDir(), 'rebuilt.bin');
    const run = await runCli(['join', '--channel', channelId, '--message', messageId, '--out', out], env);
    expect(run.code, run.stderr).toBe(0);
    return readFile(out);
  }

  beforeAll(async () => {
    fx = await startBotFixture({
      fake: {
        // No nonce dedupe: the resumed run's manifest would otherwise be answered with the one deleted here by hand.
        nonceTtlMs: 0,
        channels: [
          { id: GENERAL, name: 'general' },
          { id: THREAD, name: 'thread-like' },
        ],
      },
      // One part a message, so each part's message can be moved alone. PARTS_IN=channel: every part
      // starts in GENERAL, where the moves by hand below take them from.
      env: { WEB_PORT: String(await freePort()), WEB_SECRET: SECRET, MAX_ACTIVE_TRANSFERS: '10', MAX_CHUNKS_PER_MESSAGE: '1', PARTS_IN: 'channel' },
    });
    env = { DISCORD_TOKEN: fx.fake.token, DISCORD_API_URL: fx.fake.apiUrl, RETRY_BACKOFF_BASE_MS: '20' };

    const a = await splitWhole('mixed.bin', 31);
    const b = await splitWhole('old.bin', 32);
    // Parts 4–6 of `mixed` move to the thread; the copies in the channel and its manifest go.
    const moved: typeof mixed.moved = {};
    for (const part of a.t.parts.filter((p) => p.index >= 3)) {
      moved[part.index] = await postAs(THREAD, a.id, part.name, fx.fake.attachmentBytes(part.attachment_id));
      await remove(GENERAL, part.message_id);
    }
    await remove(GENERAL, a.t.manifest_message_id!);
    await remove(THREAD, moved[5]!.message_id);
    mixed = { id: a.id, bytes: a.bytes, moved };
    // `old`'s manifest as an older version wrote it: no channel per part.
    const oldManifest = manifestOf(GENERAL, b.t.manifest_message_id!);
    const stripped = { ...oldManifest, chunks: oldManifest.chunks.map(withoutChannel) };
    const posted = await postAs(GENERAL, b.id, 'old.bin.manifest.json', Buffer.from(JSON.stringify(stripped)));
    old = { id: b.id, bytes: b.bytes, manifestMessageId: posted.message_id };
    const c = await splitWhole('failed.bin', 33);
    const movedC: typeof mixed.moved = {};
    for (const part of c.t.parts.filter((p) => p.index >= 3)) {
      movedC[part.index] = await postAs(THREAD, c.id, part.name, fx.fake.attachmentBytes(part.attachment_id));
      await remove(GENERAL, part.message_id);
    }
    failed = { id: c.id };

    await fx.bot.kill('SIGKILL');
    const file = JSON.parse(await readFile(fx.progressPath, 'utf8')) as ProgressFile;
    for (const t of file.active_transfers) {
      if (t.id === mixed.id) {
        // Killed before part 5's answer was written; parts 4 and 6 recorded in the thread.
        const inThread = (p: PartRecord): PartRecord => ({ ...p, ...moved[p.index]!, channel_id: THREAD });
        t.parts = t.parts.filter((p) => p.index !== 4).map((p) => (p.index >= 3 ? inThread(p) : p));
        t.completed_chunks = t.parts.map((p) => p.index);
        t.bytes_done = t.parts.reduce((sum, p) => sum + p.size, 0);
        Object.assign(t, {
          status: 'interrupted',
          manifest_message_id: null,
          manifest_channel_id: null,
          completed_at: null,
          threads: [{ id: THREAD, lane: 0 }],
        });
        before = t;
      }
      if (t.id === failed.id) {
        t.parts = t.parts.filter((p) => p.index !== 5).map((p) => (p.index >= 3 ? { ...p, ...movedC[p.index]!, channel_id: THREAD } : p));
        t.completed_chunks = t.parts.map((p) => p.index);
        Object.assign(t, { status: 'error', manifest_message_id: null, completed_at: null, threads: [{ id: THREAD, lane: 0 }] });
      }
      if (t.id === old.id) {
        t.parts = t.parts.map(withoutChannel);
        const record = t as Partial<TransferRecord>;
        delete record.threads;
        delete record.manifest_channel_id;
      }
    }
    await writeFile(fx.progressPath, JSON.stringify(file));
    // AUTO_RESUME picks `mixed` up at the start.
    await fx.restartBot();
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('GIVEN parts recorded in a thread, one of them deleted there, one posted there but unrecorded THEN the resume looks there: only the deleted one is sent again, the unrecorded one is recorded', async () => {
    const t = await fx.waitForStatus(mixed.id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    // The rest goes to the transfer's recorded thread, as each message after the first three did.
    expect(t.parts.map((p) => p.channel_id)).toEqual([GENERAL, GENERAL, GENERAL, THREAD, THREAD, THREAD]);
    expect(t.parts[3]).toMatchObject(mixed.moved[3]!);
    expect(t.parts[4]).toMatchObject(mixed.moved[4]!);
    expect(t.parts[5]!.message_id).not.toBe(before.parts.find((p) => p.index === 5)!.message_id);
    // Parts 4 and 5 were never posted again: each is in the thread alone.
    const named = (name: string) =>
      [GENERAL, THREAD].flatMap((c) => fx.fake.messages(c)).filter((m) => m.attachments.some((a) => a.filename === name));
    expect(named('mixed.bin.part004')).toHaveLength(1);
    expect(named('mixed.bin.part005')).toHaveLength(1);
    expect(t.notes.join('\n')).toMatch(/no longer found, sending again: mixed\.bin\.part006/);
    expect(t.manifest_channel_id).toBe(THREAD);
    const manifest = manifestOf(THREAD, t.manifest_message_id!);
    expect(manifest.chunks.map((c) => c.channel_id)).toEqual([GENERAL, GENERAL, GENERAL, THREAD, THREAD, THREAD]);
  });

  it('GIVEN a manifest whose parts are in two channels THEN join --channel --message rebuilds the file', async () => {
    const t = await fx.waitForStatus(mixed.id, ['complete', 'error']);
    expect((await join(THREAD, t.manifest_message_id!)).equals(mixed.bytes)).toBe(true);
  });

  it('GIVEN a transfer whose parts are in two channels THEN its download link serves the whole file', async () => {
    await fx.waitForStatus(mixed.id, ['complete', 'error']);
    const res = await fetch(await share(mixed.id));
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(mixed.bytes)).toBe(true);
  });

  it('GIVEN a progress record and a manifest without channel ids (older versions) THEN they load, join rebuilds the file and the download link serves it', async () => {
    const t = await fx.transfer(old.id);
    expect(t.parts.every((p) => p.channel_id === undefined)).toBe(true);
    expect((await join(GENERAL, old.manifestMessageId)).equals(old.bytes)).toBe(true);
    const res = await fetch(await share(old.id));
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(old.bytes)).toBe(true);
  });

  it('GIVEN a transfer with parts in the channel and in its thread, one there unrecorded WHEN /cancel delete_posted THEN every part message is deleted where it is', async () => {
    const partsOf = (channelId: string) =>
      fx.fake.messages(channelId).filter((m) => m.attachments.some((a) => a.filename.startsWith('failed.bin.part')));
    expect(partsOf(GENERAL)).toHaveLength(3);
    expect(partsOf(THREAD)).toHaveLength(3);
    const handle = await fx.command({
      name: 'cancel',
      permissions: PERMISSIONS.ADMINISTRATOR,
      options: [
        { name: 'transfer', type: 3, value: failed.id },
        { name: 'delete_posted', type: 5, value: true },
      ],
    });
    await handle.waitFor((h) => /cancelled/.test(h.original()?.content ?? ''), 30_000);
    expect(handle.original()?.content).toMatch(/Deleted 6 part message\(s\)\.$/);
    expect(partsOf(GENERAL)).toEqual([]);
    expect(partsOf(THREAD)).toEqual([]);
  });

  it('GIVEN all of the above THEN the bot logged no unexpected error', () => {
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});
