/**
 * SIGTERM ends the process within 10 s whatever the network or the disk does (README, 'What survives what'):
 * exit 0 when the stop was clean, 1 when a step of it failed or ran out of time.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import { exitWithin } from '../support/bot-process.js';
import { writeSeededFile } from '../support/random-file.js';
import { holdAfterParts } from '../support/held.js';
import { MIB } from '../support/units.js';

const MESSAGES = 'POST /channels/:id/messages';
/** README, 'What survives what': SIGTERM handling ends within 10 s. */
const SIGTERM_LIMIT_MS = 10_000;

describe('a stop that cannot finish cleanly is still bounded', () => {
  let fx: BotFixture | undefined;
  afterEach(async () => {
    await fx?.stop();
    fx = undefined;
  });

  it('GIVEN a gateway that no longer answers WHEN SIGTERM arrives THEN the bot exits 1 within 10 s, with its transfer saved as interrupted', async () => {
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1' } });
    await writeSeededFile(path.join(fx.filesRoot, 'data.bin'), 12 * MIB, 3);
    // Messages after the second part wait at the fake until the bot has stopped dispatching.
    const held = holdAfterParts(fx.fake, 2);
    const id = await fx.split('data.bin', { chunkSizeMiB: 1 });
    await fx.waitForParts(id, 2);
    // discord.js now waits 30 s for the answer to its close frame.
    fx.fake.freezeGateway();
    fx.bot.child.kill('SIGTERM');
    await fx.bot.waitForLog((l) => l.msg.startsWith('shutting down'), 10_000).finally(held.release);
    const exit = await exitWithin(fx.bot, SIGTERM_LIMIT_MS);
    expect(exit).toMatchObject({ code: 1 });
    expect(fx.bot.logs.some((l) => l.msg === 'shutdown failed' && /discord/.test(JSON.stringify(l.err)))).toBe(true);
    expect((await fx.transfer(id)).status).toBe('interrupted');
  });

  it('GIVEN the lock file cannot be released WHEN SIGTERM arrives THEN the bot logs why and exits 1', async () => {
    fx = await startBotFixture();
    const lock = fx.progressPath.replace(/\.json$/, '.lock');
    await fs.rm(lock);
    await fs.mkdir(lock);
    fx.bot.child.kill('SIGTERM');
    const exit = await exitWithin(fx.bot, SIGTERM_LIMIT_MS);
    expect(exit).toMatchObject({ code: 1 });
    expect(fx.bot.logs.some((l) => l.msg === 'shutdown failed' && /progress file/.test(JSON.stringify(l.err)))).toBe(true);
  });

  it('GIVEN a stop under way WHEN the same signal comes again (npm start forwards the one the terminal or systemd also sent) THEN the stop still finishes: exit 0, transfer saved', async () => {
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1' } });
    await writeSeededFile(path.join(fx.filesRoot, 'data.bin'), 4 * MIB, 5);
    // After the progress message, the first part's message is stored but never answered: the stop waits for
    // it (its grace for an upload in flight) while the second signal comes.
    fx.fake.faults.add({ route: MESSAGES, kind: 'storeThenHang', after: 1, times: 1 });
    const id = await fx.split('data.bin', { chunkSizeMiB: 1 });
    await vi.waitFor(() => expect(fx!.fake.messages().some((m) => m.content.includes(id) && m.attachments.length > 0)).toBe(true), {
      timeout: 20_000,
      interval: 50,
    });
    fx.bot.child.kill('SIGINT');
    await fx.bot.waitForLog((l) => l.msg === 'signal received');
    fx.bot.child.kill('SIGINT');
    expect(await exitWithin(fx.bot, SIGTERM_LIMIT_MS)).toMatchObject({ code: 0 });
    expect(fx.bot.logs.some((l) => l.msg === 'stopped')).toBe(true);
    expect((await fx.transfer(id)).status).toBe('interrupted');
  });

  it('GIVEN nothing wrong WHEN SIGTERM arrives THEN the bot exits 0 and releases its lock', async () => {
    fx = await startBotFixture();
    fx.bot.child.kill('SIGTERM');
    expect(await exitWithin(fx.bot, SIGTERM_LIMIT_MS)).toMatchObject({ code: 0 });
    await expect(fs.access(fx.progressPath.replace(/\.json$/, '.lock'))).rejects.toThrow();
  });
});
