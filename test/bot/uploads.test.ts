/**
 * Upload pool and streamed bodies, end to end: the bot process against the fake Discord,
 * counting what the fake sees (concurrent message creates), and a source file changed while
 * its parts stream from disk.
 */
import { mkdir, rename, rm, truncate, utimes } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import type { RecordedRequest } from '../support/fake-discord/types.js';
import { holdAfterParts, waitUntil } from '../support/held.js';
import { writeSeededFile } from '../support/random-file.js';
import { rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';
import { sha256 } from '../support/hash.js';

const CREATE = 'POST /channels/:id/messages';

/**
 * The most part-carrying message creates at one moment: open (from their first byte to their
 * answer), or with Discord (from the moment their whole body was in to their answer).
 */
function maxConcurrentUploads(requests: RecordedRequest[], from: 'open' | 'with Discord'): number {
  const uploads = requests.filter((r) => r.route === CREATE && r.bytes > MIB && r.status === 200);
  const edges = uploads.flatMap((r) => [
    { t: from === 'open' ? r.time : r.bodyAt!, d: 1 },
    { t: r.time + r.durationMs, d: -1 },
  ]);
  // Ends before starts at the same millisecond: touching intervals do not overlap.
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of edges) {
    now += e.d;
    max = Math.max(max, now);
  }
  return max;
}

describe('uploads through the fake Discord', () => {
  let fx: BotFixture | undefined;
  afterEach(async () => {
    await fx?.stop();
    fx = undefined;
  });

  it.each([1, 3])(
    'GIVEN MAX_PARALLEL_UPLOADS=%i and slow answers THEN Discord has exactly that many messages at once at most, one more streams meanwhile, and the manifest is in part order',
    async (n) => {
      // Discord takes 300 ms to create each message once its body is in: slow enough that the
      // reader is always ahead and every turn gets used.
      fx = await startBotFixture({ env: { MAX_PARALLEL_UPLOADS: String(n), MAX_CHUNKS_PER_MESSAGE: '1' }, fake: { processingMs: 300 } });
      const size = 12 * MIB + 5;
      const sha = await writeSeededFile(path.join(fx.filesRoot, 'pool.bin'), size, 61);
      const id = await fx.split('pool.bin', { chunkSizeMiB: 1 });
      const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 60_000);
      expect(t.status, t.notes.join('; ')).toBe('complete');

      const withDiscord = maxConcurrentUploads(fx.fake.requests, 'with Discord');
      expect(withDiscord).toBe(n);
      // The next message's body streams while Discord creates the ones before: one request more.
      expect(maxConcurrentUploads(fx.fake.requests, 'open')).toBe(n + 1);

      const rebuilt = rebuildFromFake(fx.fake, id);
      expect(rebuilt.sha256).toBe(sha);
      expect(rebuilt.manifest.chunks.map((c) => c.index)).toEqual(Array.from({ length: 13 }, (_, i) => i));
      expect(rebuilt.manifest.chunks.map((c) => c.offset)).toEqual(Array.from({ length: 13 }, (_, i) => i * MIB));
      for (const chunk of rebuilt.manifest.chunks) {
        expect(rebuilt.partAttachments.find((p) => p.name === chunk.name)?.messageId).toBe(chunk.message_id);
      }
      expect(unexpectedErrors(fx.bot)).toEqual([]);
    },
  );

  it('GIVEN the source file is rewritten mid-transfer THEN the transfer ends error with a source-changed note and no part posted after holds new bytes', async () => {
    fx = await startBotFixture({ env: { MAX_PARALLEL_UPLOADS: '1', MAX_CHUNKS_PER_MESSAGE: '1' } });
    const file = path.join(fx.filesRoot, 'changing.bin');
    const size = 8 * MIB;
    await writeSeededFile(file, size, 62);
    const held = holdAfterParts(fx.fake, 1);
    const id = await fx.split('changing.bin', { chunkSizeMiB: 1 });
    const fake = fx.fake;
    try {
      await waitUntil(() => held.posted() > 0, 'a first part is posted');
      await writeSeededFile(file, size, 63);
      await utimes(file, new Date(), new Date(Date.now() + 10_000));
    } finally {
      held.release();
    }

    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 30_000);
    expect(t.status).toBe('error');
    // The reader or the upload may notice first (a shorter file, or a newer mtime): both are a changed source.
    expect(t.notes.at(-1)).toMatch(/^source changed: .*changing\.bin/);
    expect(t.parts.length).toBeLessThan(8);
    // Whatever Discord holds matches the hash recorded for it (the original bytes).
    for (const part of t.parts) {
      expect(sha256(fake.attachmentBytes(part.attachment_id))).toBe(part.sha256);
    }
    expect(fake.messages().some((m) => m.attachments.some((a) => a.filename.endsWith('.manifest.json')))).toBe(false);
  });

  /** Starts a slow /split of `relPath` and runs `change` once its first part is posted (bounded wait). */
  async function changeMidTransfer(relPath: string, change: (file: string) => Promise<void>): Promise<{ id: string; file: string }> {
    fx = await startBotFixture({ env: { MAX_PARALLEL_UPLOADS: '1', MAX_CHUNKS_PER_MESSAGE: '1' } });
    const file = path.join(fx.filesRoot, relPath);
    await mkdir(path.dirname(file), { recursive: true });
    await writeSeededFile(file, 8 * MIB, 64);
    const held = holdAfterParts(fx.fake, 1);
    const id = await fx.split(relPath, { chunkSizeMiB: 1 });
    try {
      await waitUntil(() => held.posted() > 0, 'a first part is posted');
      await change(file);
    } finally {
      held.release();
    }
    return { id, file };
  }

  it('GIVEN the source file is truncated mid-transfer THEN the note, the progress message and /status name it relative to FILES_ROOT, never by its path on the host', async () => {
    const { id } = await changeMidTransfer('mods/truncate.bin', (file) => truncate(file, 3 * MIB + 5));
    const t = await fx!.waitForStatus(id, ['complete', 'error', 'cancelled'], 30_000);
    expect(t.status).toBe('error');
    expect(t.notes.at(-1)).toMatch(/^source changed: .*\bmods\/truncate\.bin\b/);
    const work = fx!.work;
    expect(t.notes.join('\n')).not.toContain(work);

    const progress = () => fx!.fake.messages().find((m) => m.id === t.progress_message_id)?.content ?? '';
    // The progress message is edited on its own clock: wait for it, bounded, rather than a fixed 2 s.
    await waitUntil(() => progress().includes('source changed'), 'the progress message shows the note').catch(() => undefined);
    expect(progress()).toMatch(/note: source changed: .*mods\/truncate\.bin/);
    expect(progress()).not.toContain(work);

    const status = await fx!.command({ name: 'status', permissions: PERMISSIONS.ADMINISTRATOR, options: [{ name: 'transfer', type: 3, value: id }] });
    expect(status.original()?.content).toMatch(/last note: source changed: .*mods\/truncate\.bin/);
    expect(status.original()?.content).not.toContain(work);
  });

  it('GIVEN the source file is deleted mid-transfer THEN the transfer ends error as a changed source at the first attempt, not after retries', async () => {
    const { id } = await changeMidTransfer('deleted.bin', (file) => rm(file));
    const t = await fx!.waitForStatus(id, ['complete', 'error', 'cancelled'], 30_000);
    expect(t.status).toBe('error');
    expect(t.notes.at(-1)).toMatch(/^source changed: deleted\.bin no longer exists/);
    expect(t.notes.join('\n')).not.toContain(fx!.work);
    expect(t.retries).toBe(0);
    expect(Object.values(t.chunk_attempts).every((n) => n === 1)).toBe(true);
  });

  it('GIVEN the source is replaced after part 3 by a file of the same size and mtime THEN the transfer ends error as a changed source, never complete, and every posted part matches its recorded hash', async () => {
    fx = await startBotFixture({ env: { MAX_PARALLEL_UPLOADS: '1', MAX_CHUNKS_PER_MESSAGE: '1' } });
    const file = path.join(fx.filesRoot, 'swap.bin');
    const size = 10 * MIB;
    await writeSeededFile(file, size, 65);
    // A whole-second mtime, so the replacement can be given exactly the same one.
    const mtime = new Date('2024-06-01T12:00:00.000Z');
    await utimes(file, mtime, mtime);
    const held = holdAfterParts(fx.fake, 3);
    const id = await fx.split('swap.bin', { chunkSizeMiB: 1 });
    try {
      const before = await fx.waitForParts(id, 3);
      expect(before.status).toBe('in_progress');
      await writeSeededFile(`${file}.new`, size, 66);
      await utimes(`${file}.new`, mtime, mtime);
      await rename(`${file}.new`, file);
    } finally {
      held.release();
    }

    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 30_000);
    expect(t.status, t.notes.join('; ')).toBe('error');
    expect(t.notes.at(-1)).toMatch(/^source changed: .*swap\.bin/);
    expect(t.manifest_message_id).toBeNull();
    // Whatever Discord stored for this transfer is recorded, with the hash of its bytes.
    const posted = fx.fake
      .messages()
      .filter((m) => m.content.includes(id))
      .flatMap((m) => m.attachments);
    expect(posted.some((a) => a.filename.endsWith('.manifest.json'))).toBe(false);
    expect(posted.map((a) => a.id).sort()).toEqual(t.parts.map((p) => p.attachment_id).sort());
    for (const part of t.parts) {
      expect(sha256(fx.fake.attachmentBytes(part.attachment_id)), part.name).toBe(part.sha256);
    }
  });
});
