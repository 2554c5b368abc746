/** Every fault the fake Discord can play during a transfer: each ends complete without a duplicate, or error with a note where it persists. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import type { FaultSpec } from '../support/fake-discord/types.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';

const MESSAGES = 'POST /channels/:id/messages';
const RETRY_LIMIT = 3;

describe('fault matrix during a transfer', () => {
  let fx: BotFixture;
  let sha: string;
  beforeAll(async () => {
    fx = await startBotFixture({
      env: { MAX_CHUNKS_PER_MESSAGE: '1', MAX_ACTIVE_TRANSFERS: '50', UPLOAD_TIMEOUT_MS: '1500', RETRY_LIMIT_PER_CHUNK: String(RETRY_LIMIT) },
    });
    sha = await writeSeededFile(path.join(fx.filesRoot, 'data.bin'), 5 * MIB + 3, 77);
  });
  afterAll(async () => {
    await fx?.stop();
  });

  const run = async (faults: FaultSpec[]) => {
    fx.fake.faults.clear();
    // `after: 2` lets the progress message and the first part through, so the fault lands mid-transfer.
    for (const f of faults) fx.fake.faults.add({ route: MESSAGES, after: 2, ...f });
    const id = await fx.split('data.bin', { chunkSizeMiB: 1 });
    const t = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 60_000);
    fx.fake.faults.clear();
    return { id, t };
  };

  const recovers: [string, FaultSpec[]][] = [
    ['a route 429', [{ kind: 'rateLimit', retryAfterMs: 200, times: 2 }]],
    ['a global 429', [{ kind: 'rateLimit', retryAfterMs: 200, global: true, times: 1 }]],
    ['500s', [{ kind: 'status', status: 500, times: 2 }]],
    ['502s', [{ kind: 'status', status: 502, times: 2 }]],
    ['503s', [{ kind: 'status', status: 503, times: 2 }]],
    ['connection resets', [{ kind: 'dropConnection', times: 2 }]],
    ['a stored message whose answer is lost', [{ kind: 'storeThenDrop', times: 1 }]],
    ['a response slower than UPLOAD_TIMEOUT_MS', [{ kind: 'delay', ms: 2_500, times: 1 }]],
    ['an answer whose body stops half-way', [{ kind: 'storeThenStallAnswer', times: 1 }]],
    ['a gateway close', [{ kind: 'closeGateway', code: 4000, times: 1 }]],
  ];

  it.each(recovers)('GIVEN %s THEN the transfer completes with each part once', async (_label, faults) => {
    const { id, t } = await run(faults);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    const names = postedPartNames(fx.fake, id);
    expect(new Set(names).size, names.join(',')).toBe(names.length);
    expect(names.length).toBe(t.total_chunks);
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
  });

  it('GIVEN 500 on every attempt THEN it ends error with a note after RETRY_LIMIT_PER_CHUNK retries', async () => {
    const before = fx.fake.requests.length;
    const { t } = await run([{ kind: 'status', status: 500, times: 1_000 }]);
    expect(t.status).toBe('error');
    expect(t.notes.join('\n')).toMatch(/gave up after 4 attempt/);
    const posts = fx.fake.requests.slice(before).filter((r) => r.route === MESSAGES && r.status === 500);
    expect(posts).toHaveLength(RETRY_LIMIT + 1);
    expect(Object.values(t.chunk_attempts)).toContain(RETRY_LIMIT + 1);
  });

  // 401 last: discord.js drops the token after one, as a revoked token should stop the bot's REST.
  it.each([403, 404, 401])('GIVEN a persistent %i THEN the transfer stops after the first answer', async (status) => {
    const before = fx.fake.requests.length;
    const { t } = await run([{ kind: 'status', status, times: 1_000, body: { message: 'refused', code: status === 404 ? 10003 : 50013 } }]);
    expect(t.status).toBe('error');
    // Unknown Channel (404) where the parts go, the transfer's thread by default, reads as that thread gone.
    expect(t.notes.join('\n')).toMatch(status === 404 ? /the transfer's thread <#\d+> is gone/ : new RegExp(`${status}`));
    const refused = fx.fake.requests.slice(before).filter((r) => r.route === MESSAGES && r.status === status);
    expect(refused).toHaveLength(1);
  });
});
