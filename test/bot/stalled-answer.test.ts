/**
 * An answer whose headers came but whose body stopped half-way: discord.js's own timeout ends
 * at the headers, so without the bot's time limit on the whole answer (src/discord/client.ts)
 * such a request waited for good. The upload's case is a row of fault-matrix.test.ts; here the
 * read of the channel that a resume starts with.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';

describe('an answer that stops half-way', () => {
  let fx: BotFixture | undefined;
  afterEach(async () => {
    await fx?.stop();
    fx = undefined;
  });

  it('GIVEN a resume whose read of the channel gets an answer that stops half-way THEN it times out after UPLOAD_TIMEOUT_MS, reads again and finishes, each part once', async () => {
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1', UPLOAD_TIMEOUT_MS: '1500' }, fake: { processingMs: 300 } });
    const sha = await writeSeededFile(path.join(fx.filesRoot, 'stall.bin'), 5 * MIB + 1, 91);
    const id = await fx.split('stall.bin', { chunkSizeMiB: 1 });
    await fx.waitForParts(id, 2);
    await fx.bot.kill('SIGKILL');
    fx.fake.faults.add({ route: 'GET /channels/:id/messages', kind: 'storeThenStallAnswer', times: 1 });
    await fx.restartBot();
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 40_000);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(fx.fake.faults.pending()).toEqual([]);
    const names = postedPartNames(fx.fake, id);
    expect(names).toHaveLength(6);
    expect(new Set(names).size).toBe(6);
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});
