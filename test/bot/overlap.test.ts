/**
 * The next message's body streams while Discord creates the one before, its end held back
 * until that one is answered (src/transfer/pipeline.ts), and the channel's bucket is read
 * before a message's end goes (src/discord/bucket.ts): the bot process against a fake Discord
 * that takes its time to create each message. Order, each part exactly once, and a cancel
 * or a SIGKILL in the middle of the overlap.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import type { FakeDiscord, RecordedRequest } from '../support/fake-discord/types.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';
import { sleep } from '../support/wait.js';

const CREATE = 'POST /channels/:id/messages';

/** The part messages of a transfer in the order Discord created them, as part indices. */
function partsInCreationOrder(fake: FakeDiscord, id: string): number[][] {
  return fake
    .allMessagesEver()
    .filter((m) => m.content.includes(id))
    .map((m) => m.attachments.filter((a) => a.filename.includes('.part')).map((a) => Number(/\.part(\d+)$/.exec(a.filename)![1]) - 1))
    .filter((parts) => parts.length > 0);
}

const answered = (r: RecordedRequest) => r.time + r.durationMs;

/** The requests that created the transfer's part messages, in the order Discord created them. */
function partUploads(fake: FakeDiscord, id: string): RecordedRequest[] {
  const ids = fake
    .allMessagesEver()
    .filter((m) => m.content.includes(id) && m.attachments.some((a) => a.filename.includes('.part')))
    .map((m) => m.id);
  return ids.map((m) => fake.requests.find((r) => r.route === CREATE && r.messageId === m)!);
}

/** Waits (bounded) until one message is being created by Discord and the next one's body is held back before its end. */
async function untilOverlap(fake: FakeDiscord, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    const open = fake.pendingRequests().filter((r) => r.route === CREATE);
    if (open.some((r) => r.bodyAt !== undefined) && open.some((r) => r.bodyAt === undefined)) return;
    await sleep(5);
  }
  throw new Error('never saw a message being created while the next one was held back');
}

describe('the next message streaming while Discord creates the one before', () => {
  let fx: BotFixture | undefined;
  afterEach(async () => {
    await fx?.stop();
    fx = undefined;
  });

  it('GIVEN Discord takes 200 ms per message THEN each message completes only after the one before was answered, every part is posted once in order, and bodies streamed meanwhile', async () => {
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1' }, fake: { processingMs: 200 } });
    const sha = await writeSeededFile(path.join(fx.filesRoot, 'order.bin'), 8 * MIB + 3, 81);
    const id = await fx.split('order.bin', { chunkSizeMiB: 1 });
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(partsInCreationOrder(fx.fake, id)).toEqual(Array.from({ length: 9 }, (_, i) => [i]));
    const posted = partUploads(fx.fake, id);
    expect(posted).toHaveLength(9);
    for (let i = 1; i < posted.length; i++) {
      // Completed after the answer to the one before …
      expect(posted[i]!.bodyAt!).toBeGreaterThanOrEqual(answered(posted[i - 1]!));
    }
    // … while its body had started before that answer, at least once.
    expect(posted.slice(1).some((r, i) => r.time < answered(posted[i]!))).toBe(true);
    expect(Object.values(t.chunk_attempts).every((n) => n === 1)).toBe(true);
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });

  it('GIVEN Discord fails a message while the next one is held THEN the held one completes after it, in order, once, and only the failed one counts a second attempt', async () => {
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1' }, fake: { processingMs: 100 } });
    const sha = await writeSeededFile(path.join(fx.filesRoot, 'retry.bin'), 6 * MIB + 1, 82);
    // The progress message and parts 0–2 pass; part 3 fails after Discord "worked on it" 400 ms.
    fx.fake.faults.add({ route: CREATE, kind: 'status', status: 502, afterMs: 400, after: 4, times: 1 });
    const id = await fx.split('retry.bin', { chunkSizeMiB: 1 });
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(partsInCreationOrder(fx.fake, id)).toEqual(Array.from({ length: 7 }, (_, i) => [i]));
    expect(t.chunk_attempts).toEqual({ '0': 1, '1': 1, '2': 1, '3': 2, '4': 1, '5': 1, '6': 1 });
    // Kept open while part 3 was sent again, not cut off and sent a second time.
    expect(fx.bot.logs.filter((l) => l.event === 'chunk_held_back')).toEqual([]);
    expect(fx.fake.requests.filter((r) => r.route === CREATE && r.status === 0)).toEqual([]);
    const names = postedPartNames(fx.fake, id);
    expect(new Set(names).size).toBe(names.length);
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });

  it('GIVEN Discord takes longer than half of UPLOAD_TIMEOUT_MS per message THEN the time a message is held back does not count against its timeout: each part goes once, at the first attempt', async () => {
    // 1.5 s of Discord's time each: a held message waits out its predecessor's and then its own, 3 s in all.
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1', UPLOAD_TIMEOUT_MS: '2500' }, fake: { processingMs: 1_500 } });
    const sha = await writeSeededFile(path.join(fx.filesRoot, 'slow.bin'), 3 * MIB + 5, 86);
    const id = await fx.split('slow.bin', { chunkSizeMiB: 1 });
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    const posted = partUploads(fx.fake, id);
    // Held meanwhile (its body went before the answer to the one before), so the overlap was there to time.
    expect(posted.slice(1).some((r, i) => r.time < answered(posted[i]!))).toBe(true);
    expect(t.chunk_attempts).toEqual({ '0': 1, '1': 1, '2': 1, '3': 1 });
    expect(fx.fake.requests.filter((r) => r.route === CREATE && r.status === 0)).toEqual([]);
    expect(fx.bot.logs.filter((l) => l.event === 'chunk_retry')).toEqual([]);
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });

  it("GIVEN a message waits longer than UPLOAD_TIMEOUT_MS for the channel's bucket THEN that wait is not its timeout either: no attempt is lost, no 429", async () => {
    fx = await startBotFixture({
      env: { MAX_CHUNKS_PER_MESSAGE: '1', UPLOAD_TIMEOUT_MS: '1500' },
      fake: { channelRateLimit: { limit: 3, windowMs: 3_000, countAt: 'body' } },
    });
    // The progress message and four parts: the fourth and fifth creates wait ~3 s for the window to pass.
    const sha = await writeSeededFile(path.join(fx.filesRoot, 'bucket-wait.bin'), 4 * MIB, 87);
    const id = await fx.split('bucket-wait.bin', { chunkSizeMiB: 1 });
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(t.chunk_attempts).toEqual({ '0': 1, '1': 1, '2': 1, '3': 1 });
    expect(fx.bot.logs.some((l) => l.msg === 'rate_limited')).toBe(true);
    expect(fx.fake.requests.filter((r) => r.status === 429)).toEqual([]);
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });

  it('GIVEN /cancel while one message is being created and the next is held THEN the first is recorded, the held one is never created, and nothing posted is left unrecorded', async () => {
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1' }, fake: { processingMs: 800 } });
    await writeSeededFile(path.join(fx.filesRoot, 'cancel.bin'), 6 * MIB, 83);
    const id = await fx.split('cancel.bin', { chunkSizeMiB: 1 });
    await fx.waitForParts(id, 1);
    await untilOverlap(fx.fake);
    const createdBefore = partsInCreationOrder(fx.fake, id).length;
    const cancel = await fx.command({ name: 'cancel', permissions: PERMISSIONS.ADMINISTRATOR, options: [{ name: 'transfer', type: 3, value: id }] });
    await cancel.waitFor((h) => /cancelled/.test(h.original()?.content ?? ''), 15_000);
    const t = await fx.waitForStatus(id, ['cancelled']);
    // The one Discord was creating finished within the grace and was recorded; the held one never completed.
    const created = partsInCreationOrder(fx.fake, id).flat();
    expect(created).toEqual(Array.from({ length: createdBefore + 1 }, (_, i) => i));
    expect([...t.completed_chunks].sort((a, b) => a - b)).toEqual(created);
    expect(fx.fake.pendingRequests().filter((r) => r.route === CREATE)).toEqual([]);
    expect(fx.fake.requests.filter((r) => r.route === CREATE && r.status === 0 && r.bodyAt === undefined).length).toBeGreaterThanOrEqual(1);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });

  it('GIVEN a SIGKILL while one message is being created and the next is held THEN only answered parts are recorded, and the restart finds the created one and posts the rest once', async () => {
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1' }, fake: { processingMs: 600 } });
    const sha = await writeSeededFile(path.join(fx.filesRoot, 'kill.bin'), 5 * MIB + 9, 84);
    const id = await fx.split('kill.bin', { chunkSizeMiB: 1 });
    await fx.waitForParts(id, 2);
    await untilOverlap(fx.fake);
    await fx.bot.kill('SIGKILL');
    const recorded = (await fx.transfer(id)).completed_chunks;
    // Discord goes on creating the message whose body it has; the held one it never completes.
    const deadline = Date.now() + 10_000;
    while (partsInCreationOrder(fx.fake, id).length <= recorded.length && Date.now() < deadline) await sleep(20);
    // Time for a wrong creation of the held one to show: it only lets a bug appear, it cannot fail a
    // correct bot. (The fake drops a request from pendingRequests() when its client goes, while the
    // one it has whole is still being created, so "none pending" is no end of creations to wait for.)
    await sleep(200);
    const created = partsInCreationOrder(fx.fake, id).flat();
    expect(created).toEqual(Array.from({ length: recorded.length + 1 }, (_, i) => i));
    await fx.restartBot();
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    const names = postedPartNames(fx.fake, id);
    expect(new Set(names).size, names.join(',')).toBe(names.length);
    expect(names).toHaveLength(6);
    expect(partsInCreationOrder(fx.fake, id).flat()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(fx.bot.logs.some((l) => l.event === 'chunk_found' && l.chunk === recorded.length)).toBe(true);
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
  });

  it('GIVEN SIGTERM while one message is being created and the next is held THEN the bot exits 0 with the transfer interrupted, and the restart posts each remaining part once', async () => {
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1' }, fake: { processingMs: 700 } });
    const sha = await writeSeededFile(path.join(fx.filesRoot, 'term.bin'), 5 * MIB + 1, 90);
    const id = await fx.split('term.bin', { chunkSizeMiB: 1 });
    await fx.waitForParts(id, 2);
    await untilOverlap(fx.fake);
    const exited = new Promise<number | null>((resolve) => fx!.bot.child.once('exit', resolve));
    fx.bot.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const stopped = await fx.transfer(id);
    expect(stopped.status).toBe('interrupted');
    // What was answered is recorded; the held one was never created.
    expect(partsInCreationOrder(fx.fake, id).flat()).toEqual([...stopped.completed_chunks].sort((x, y) => x - y));
    await fx.restartBot();
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(partsInCreationOrder(fx.fake, id).flat()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
  });
});
