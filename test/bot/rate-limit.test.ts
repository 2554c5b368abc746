/**
 * The channel's message bucket read from Discord's answers (src/discord/bucket.ts): a message
 * waits before its last bytes go rather than meeting a 429 after a whole upload. The bot
 * process against a fake Discord whose bucket counts a message once its body is in.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';

describe("the channel's bucket read before a message's end", () => {
  let fx: BotFixture | undefined;
  afterEach(async () => {
    await fx?.stop();
    fx = undefined;
  });

  it.each([1, 2])(
    'GIVEN a bucket of 2 per second counted at the body and MAX_PARALLEL_UPLOADS=%i THEN the bot waits before the end instead of meeting a 429, and every part is posted once',
    async (n) => {
      fx = await startBotFixture({
        env: { MAX_CHUNKS_PER_MESSAGE: '1', MAX_PARALLEL_UPLOADS: String(n) },
        fake: { processingMs: 50, channelRateLimit: { limit: 2, windowMs: 1_000, countAt: 'body' } },
      });
      const sha = await writeSeededFile(path.join(fx.filesRoot, 'bucket.bin'), 6 * MIB + 2, 85 + n);
      const id = await fx.split('bucket.bin', { chunkSizeMiB: 1 });
      const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
      expect(t.status, t.notes.join('; ')).toBe('complete');
      expect(fx.fake.requests.filter((r) => r.status === 429)).toEqual([]);
      expect(fx.bot.logs.some((l) => l.msg === 'rate_limited')).toBe(true);
      const names = postedPartNames(fx.fake, id);
      expect(new Set(names).size).toBe(7);
      expect(names).toHaveLength(7);
      expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
      expect(unexpectedErrors(fx.bot)).toEqual([]);
    },
  );

  it("GIVEN two /split in one channel at the same instant THEN they share the channel's bucket: no 429, every part of each posted once", async () => {
    fx = await startBotFixture({
      env: { MAX_CHUNKS_PER_MESSAGE: '1' },
      fake: { processingMs: 100, channelRateLimit: { limit: 3, windowMs: 1_500, countAt: 'body' } },
    });
    const shaA = await writeSeededFile(path.join(fx.filesRoot, 'a.bin'), 5 * MIB + 1, 88);
    const shaB = await writeSeededFile(path.join(fx.filesRoot, 'b.bin'), 5 * MIB + 2, 89);
    const [a, b] = await Promise.all([fx.split('a.bin', { chunkSizeMiB: 1 }), fx.split('b.bin', { chunkSizeMiB: 1 })]);
    for (const [id, sha] of [
      [a, shaA],
      [b, shaB],
    ] as const) {
      const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled']);
      expect(t.status, t.notes.join('; ')).toBe('complete');
      expect(Object.values(t.chunk_attempts).every((n) => n === 1)).toBe(true);
      const names = postedPartNames(fx.fake, id);
      expect(names).toHaveLength(6);
      expect(new Set(names).size).toBe(6);
      expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
    }
    expect(fx.fake.requests.filter((r) => r.status === 429)).toEqual([]);
    expect(fx.bot.logs.some((l) => l.msg === 'rate_limited')).toBe(true);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});
