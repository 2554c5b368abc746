import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { holdAfterParts } from '../support/held.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';

const MESSAGES = 'POST /channels/:id/messages';

describe('faults from Discord during a /split', () => {
  let fx: BotFixture;
  let sha: string;
  beforeEach(async () => {
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1', MAX_ACTIVE_TRANSFERS: '10' }, fake: { attachmentSizeLimit: 10 * MIB } });
    sha = await writeSeededFile(path.join(fx.filesRoot, 'data.bin'), 6 * MIB + 5, 42);
  });
  afterEach(async () => {
    await fx?.stop();
  });

  it('GIVEN a 429 in the middle THEN it completes without counting an attempt', async () => {
    // After the progress message and two parts.
    fx.fake.faults.add({ route: MESSAGES, kind: 'rateLimit', retryAfterMs: 300, after: 3, times: 1 });
    const id = await fx.split('data.bin', { chunkSizeMiB: 1 });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(Object.values(t.chunk_attempts).every((n) => n === 1)).toBe(true);
    expect(fx.fake.requests.some((r) => r.route === MESSAGES && r.status === 429)).toBe(true);
    expect(fx.bot.logs.some((l) => l.msg === 'rate_limited')).toBe(true);
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });

  it('GIVEN two 500s on one part THEN chunk_attempts shows them and no message is duplicated', async () => {
    // Creates in order: the progress message, parts 0 and 1, part 2 (a 500 once Discord "worked
    // on it" 300 ms, by when part 3's body waits before its end: the fifth create, kept open
    // until part 2 is answered), then part 2 again: the second 500.
    let creates = 0;
    fx.fake.faults.add({ route: (r) => r.route === MESSAGES && [4, 6].includes(++creates), kind: 'status', status: 500, afterMs: 300, times: 2 });
    const id = await fx.split('data.bin', { chunkSizeMiB: 1 });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    const attempts = Object.values(t.chunk_attempts).sort();
    expect(attempts.at(-1)).toBe(3);
    expect(attempts.filter((n) => n !== 1)).toEqual([3]);
    expect(fx.bot.logs.filter((l) => l.msg === 'chunk_retry')).toHaveLength(2);
    const copies = postedPartNames(fx.fake, id);
    expect(new Set(copies).size).toBe(copies.length);
    expect(copies.length).toBe(t.total_chunks);
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
  });

  it('GIVEN Discord answers 413 THEN the transfer ends error with a note naming the part size and the limit, without retrying', async () => {
    await fx.stop();
    // The interaction reports 10 MiB but Discord only takes 1 MiB per file.
    fx = await startBotFixture({ fake: { attachmentSizeLimit: 1 * MIB } });
    await writeSeededFile(path.join(fx.filesRoot, 'data.bin'), 3 * MIB, 42);
    const id = await fx.split('data.bin', { chunkSizeMiB: 2, attachmentSizeLimit: 10 * MIB });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status).toBe('error');
    const note = t.notes.join('\n');
    expect(note).toMatch(/2097152 bytes/);
    expect(note).toMatch(/10485760/);
    expect(fx.fake.requests.filter((r) => r.route === MESSAGES && r.status === 413)).toHaveLength(1);
    expect(fx.bot.logs.some((l) => l.msg === 'chunk_retry')).toBe(false);
  });

  it('GIVEN a gateway disconnect in the middle THEN the transfer still completes', async () => {
    // Held after 2 parts until the gateway is closed: the disconnect lands in the middle, however fast the machine.
    const held = holdAfterParts(fx.fake, fx.fake.messages().filter((m) => m.attachments.length > 0).length + 2);
    const id = await fx.split('data.bin', { chunkSizeMiB: 1 });
    try {
      await fx.waitForParts(id, 2);
      fx.fake.closeGateway(4000);
    } finally {
      held.release();
      fx.fake.faults.clear();
    }
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(rebuildFromFake(fx.fake, id).sha256).toBe(sha);
    // The client resumed its session and still takes commands.
    const status = await fx.command({ name: 'status', options: [{ name: 'transfer', type: 3, value: id }] });
    expect(status.original()?.content).toContain('complete');
  });
});
