/**
 * An uplink too slow for UPLOAD_TIMEOUT_MS: every attempt times out mid-body, and the note
 * the transfer ends with says how far the upload got and what to change, so it can be told
 * from Discord not answering. Through the network model's link (fake-discord/network).
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import { writeSeededFile } from '../support/random-file.js';
import { MIB } from '../support/units.js';

describe('an uplink too slow for UPLOAD_TIMEOUT_MS', () => {
  let fx: BotFixture | undefined;
  afterEach(async () => {
    await fx?.stop();
    fx = undefined;
  });

  it('GIVEN 2 MB/s up and 1 s per request for 3 MiB parts THEN the transfer ends error with a note naming the limit, the size of the upload and what to change', async () => {
    fx = await startBotFixture({
      env: { MAX_CHUNKS_PER_MESSAGE: '1', UPLOAD_TIMEOUT_MS: '1000', RETRY_LIMIT_PER_CHUNK: '1', RETRY_BACKOFF_BASE_MS: '100' },
      fake: { link: { uploadBytesPerSecond: 2_000_000, rttMs: 0 } },
    });
    await writeSeededFile(path.join(fx.filesRoot, 'slow.bin'), 6 * MIB, 92);
    const id = await fx.split('slow.bin', { chunkSizeMiB: 3 });
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 30_000);
    expect(t.status).toBe('error');
    const note = t.notes.join('\n');
    expect(note).toMatch(
      /gave up after 2 attempt\(s\): no answer within UPLOAD_TIMEOUT_MS \(1000 ms\) to a 3\.1 MB upload \(\d+\.\d MB of it written out\)/,
    );
    expect(note).toMatch(/a slow uplink needs a higher UPLOAD_TIMEOUT_MS or smaller parts/);
    expect(t.completed_chunks).toEqual([]);
    const retries = fx.bot.logs.filter((l) => l.event === 'chunk_retry');
    expect(retries.map((l) => l.reason)).toEqual(['timeout']);
  });
});
