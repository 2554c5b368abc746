/** The Discord sink against the fake Discord, through a real @discordjs/rest client. */
import { getEventListeners } from 'node:events';
import { open, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REST, Routes } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscord } from '../support/fake-discord/index.js';
import type { FakeDiscord } from '../support/fake-discord/types.js';
import { restOptions } from '../../src/discord/client.js';
import { DiscordSink } from '../../src/discord/sink.js';
import { SinkError } from '../../src/errors.js';
import { transferSchema, type TransferRecord } from '../../src/store/schema.js';
import { readParts, type PartSource, type SourcePart } from '../../src/transfer/chunker.js';
import { sha256 } from '../support/hash.js';
import { tempDir } from '../support/temp.js';

async function collect(source: PartSource): Promise<SourcePart[]> {
  const parts: SourcePart[] = [];
  for await (const p of source) parts.push(p);
  return parts;
}

describe('DiscordSink', () => {
  let fake: FakeDiscord;
  let rest: REST;
  let transfer: TransferRecord;
  /** A second text channel, standing for a thread the bot made for a transfer (a thread is a channel of its own). */
  const THREAD = '1300000000000000777';
  beforeAll(async () => {
    fake = await startFakeDiscord({
      channels: [
        { id: '1300000000000000776', name: 'general' },
        { id: THREAD, name: 'thread-like' },
      ],
    });
    // As the bot builds it: its request strategy streams the multipart bodies the sink makes.
    rest = new REST(restOptions({ DISCORD_API_URL: fake.apiUrl, UPLOAD_TIMEOUT_MS: 120_000 })).setToken(fake.token);
    const now = new Date().toISOString();
    transfer = transferSchema.parse({
      id: 'upload_sinktest1',
      status: 'in_progress',
      source: { kind: 'file', path: 'a.bin', real_path: '/nonexistent', size: 15, mtime_ms: 0 },
      file_name: 'a.bin',
      file_size: 15,
      chunk_size_bytes: 1,
      total_chunks: 15,
      owner_id: fake.defaultUser.id,
      channel_id: fake.channels[0]!.id,
      created_at: now,
      updated_at: now,
    });
  });
  afterAll(async () => {
    await fake.stop();
  });

  it('GIVEN many uploads under one transfer signal THEN no abort listener is left on it and every part arrives', async () => {
    const sink = new DiscordSink(rest, () => fake.botUserId);
    const controller = new AbortController();
    for (let i = 0; i < 15; i++) {
      const data = Buffer.from([i]);
      const part = {
        index: i,
        name: `a.bin.part${String(i + 1).padStart(3, '0')}`,
        offset: i,
        size: 1,
        sha256: sha256(data),
        data,
      };
      const [posted] = await sink.sendParts(transfer, [part], { signal: controller.signal, nonce: `sinktest1.${i}`, attempt: 1 });
      expect(fake.attachmentBytes(posted!.attachment_id)).toEqual(data);
      expect(posted!.channel_id).toBe(transfer.channel_id);
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const { found, missing } = await sink.reconcile(transfer, controller.signal);
    expect(found.map((p) => p.index).sort((a, b) => a - b)).toEqual([...Array(15).keys()]);
    expect(missing).toEqual([]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  /** A transfer of 5 bytes in parts of 2: a.bin.part001 (2 bytes), part002 (2), part003 (1). */
  const planned = (id: string) =>
    transferSchema.parse({ ...transfer, id, file_size: 5, chunk_size_bytes: 2, total_chunks: 3, source: { ...transfer.source, size: 5 } });
  /** Posts one message as the bot, carrying `files` (name → size), with the transfer id in its text as the sink writes it. */
  const post = async (t: TransferRecord, files: [string, number][]) => {
    const form = new FormData();
    form.append(
      'payload_json',
      JSON.stringify({ content: `\`${t.id}\` ${t.file_name}`, attachments: files.map(([name], i) => ({ id: String(i), filename: name })) }),
    );
    files.forEach(([name, size], i) => form.append(`files[${i}]`, new Blob([Buffer.alloc(size, 7)]), name));
    const message = (await rest.post(Routes.channelMessages(t.channel_id), { body: form, passThroughBody: true })) as {
      id: string;
      attachments: { id: string; filename: string }[];
    };
    return message;
  };

  it('GIVEN the bot user id is not known yet THEN reconcile refuses without reading the channel', async () => {
    const sink = new DiscordSink(rest, () => undefined);
    const reads = fake.requests.filter((r) => r.route === 'GET /channels/:id/messages').length;
    await expect(sink.reconcile(planned('upload_sinktest2'), new AbortController().signal)).rejects.toBeInstanceOf(SinkError);
    expect(fake.requests.filter((r) => r.route === 'GET /channels/:id/messages').length).toBe(reads);
  });

  it('GIVEN posted attachments whose name or size differ from the plan THEN only the planned ones are found', async () => {
    const t = planned('upload_sinktest3');
    const good1 = await post(t, [['a.bin.part001', 2]]);
    await post(t, [['a.bin.part002', 3]]); // one byte too many
    await post(t, [['a.bin.part3', 1]]); // not padded as the plan names it
    await post(t, [['a.bin.part004', 2]]); // beyond the planned three parts
    await post(t, [['a.bin.part003', 2]]); // the last part is 1 byte
    const good3 = await post(t, [['a.bin.part003', 1]]);
    const sink = new DiscordSink(rest, () => fake.botUserId);
    const { found } = await sink.reconcile(t, new AbortController().signal);
    expect(found.sort((a, b) => a.index - b.index)).toEqual([
      { index: 0, channel_id: t.channel_id, message_id: good1.id, attachment_id: good1.attachments[0]!.id },
      { index: 2, channel_id: t.channel_id, message_id: good3.id, attachment_id: good3.attachments[0]!.id },
    ]);
  });

  it('GIVEN parts in a thread the transfer recorded, one recorded there and deleted, one posted there but never recorded THEN reconcile looks in the thread: the first is missing, the second found there', async () => {
    const t = planned('upload_sinktest4');
    const inChannel = await post(t, [['a.bin.part001', 2]]);
    const inThread = { ...t, channel_id: THREAD };
    const deleted = await post(inThread, [['a.bin.part002', 2]]);
    const unrecorded = await post(inThread, [['a.bin.part003', 1]]);
    await rest.delete(Routes.channelMessage(THREAD, deleted.id));
    const record = (index: number, m: typeof inChannel, channelId?: string) => ({
      index,
      name: `a.bin.part00${index + 1}`,
      offset: index * 2,
      size: 2,
      sha256: 'a'.repeat(64),
      message_id: m.id,
      attachment_id: m.attachments[0]!.id,
      ...(channelId === undefined ? {} : { channel_id: channelId }),
    });
    // Part 1 recorded without a channel (an older record: the transfer's channel); part 2 in the thread.
    const recorded = transferSchema.parse({ ...t, parts: [record(0, inChannel), record(1, deleted, THREAD)], threads: [{ id: THREAD, lane: 0 }] });
    const sink = new DiscordSink(rest, () => fake.botUserId);
    const { found, missing } = await sink.reconcile(recorded, new AbortController().signal);
    expect(missing).toEqual([1]);
    expect(found).toEqual([{ index: 2, channel_id: THREAD, message_id: unrecorded.id, attachment_id: unrecorded.attachments[0]!.id }]);
  });

  it('GIVEN a recorded thread that no longer exists THEN reconcile reports its parts missing, and still finds those in the channel', async () => {
    const t = planned('upload_sinktest5');
    const inChannel = await post(t, [['a.bin.part001', 2]]);
    const gone = '1300000000000000999'; // a thread deleted since: Discord answers 404 Unknown Channel
    const part = {
      index: 1,
      name: 'a.bin.part002',
      offset: 2,
      size: 2,
      sha256: 'b'.repeat(64),
      message_id: '1300000000000001000',
      attachment_id: '1',
      channel_id: gone,
    };
    const recorded = transferSchema.parse({ ...t, parts: [part], threads: [{ id: gone, lane: 0 }] });
    const sink = new DiscordSink(rest, () => fake.botUserId);
    const { found, missing } = await sink.reconcile(recorded, new AbortController().signal);
    expect(missing).toEqual([1]);
    expect(found).toEqual([{ index: 0, channel_id: t.channel_id, message_id: inChannel.id, attachment_id: inChannel.attachments[0]!.id }]);
  });

  it('GIVEN a file-backed part whose bytes no longer match its hash THEN the upload fails as a changed source and Discord stores no message', async () => {
    const dir = await tempDir('dfs-sink-');
    const file = path.join(dir, 'a.bin');
    await writeFile(file, Buffer.alloc(200_000, 7));
    // A whole-second mtime, so it can be put back exactly after the change.
    const mtime = new Date('2024-06-01T12:00:00.000Z');
    await utimes(file, mtime, mtime);
    const [first] = await collect(readParts(file, { chunkSize: 200_000, keepData: false, name: 'a.bin' }));
    const before = await stat(file);
    const handle = await open(file, 'r+');
    await handle.write(Buffer.from('changed'), 0, 7, 150_000);
    await handle.close();
    await utimes(file, mtime, mtime);
    expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);

    const sink = new DiscordSink(rest, () => fake.botUserId);
    const count = () => fake.messages(transfer.channel_id).length;
    const messages = count();
    const part = { index: 0, name: 'a.bin.part001', offset: 0, size: 200_000, sha256: first!.sha256, file: first!.file };
    const error = await sink
      .sendParts(transfer, [part], { signal: new AbortController().signal, nonce: 'sinktest1.changed', attempt: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect(error).toMatchObject({ reason: 'source_changed', kind: 'fatal' });
    expect((error as Error).message).toMatch(/^a\.bin /);
    expect(count()).toBe(messages);
  });
});
