/**
 * Gateway close codes Discord documents as fatal (4004, 4010-4014): reconnecting cannot help,
 * so the bot says why, interrupts its transfers and exits 1 for its supervisor to see.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import { exitWithin, startBotProcess, type BotProcess, type LogLine } from '../support/bot-process.js';
import { startFakeDiscord } from '../support/fake-discord/index.js';
import type { FakeDiscord } from '../support/fake-discord/types.js';
import { writeSeededFile } from '../support/random-file.js';
import { holdAfterParts } from '../support/held.js';
import { MIB } from '../support/units.js';
import { tempDir } from '../support/temp.js';

/** Far more than a clean stop needs (within 10 s); only bounds the wait. */
const EXIT_WAIT_MS = 20_000;
const FATAL = 60; // pino level

const closedLine = (bot: BotProcess, code: number): LogLine | undefined =>
  bot.logs.find((l) => l.level === FATAL && l.event === 'gateway_closed' && l.close_code === code);

describe('a fatal gateway close stops the bot with exit code 1', () => {
  let fx: BotFixture | undefined;
  let fake: FakeDiscord | undefined;
  let work: string | undefined;
  afterEach(async () => {
    await fx?.stop();
    await fake?.stop();
    fx = fake = work = undefined;
  });

  it('GIVEN a transfer running WHEN the gateway closes with 4004 THEN the bot logs the code and its meaning, interrupts the transfer and exits 1', async () => {
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1' } });
    await writeSeededFile(path.join(fx.filesRoot, 'data.bin'), 12 * MIB, 7);
    // Messages after the second part wait at the fake until the bot has stopped dispatching.
    const held = holdAfterParts(fx.fake, 2);
    const id = await fx.split('data.bin', { chunkSizeMiB: 1 });
    await fx.waitForParts(id, 2);
    fx.fake.closeGateway(4004);
    await fx.bot.waitForLog((l) => l.msg.startsWith('shutting down'), 10_000).finally(held.release);
    const exit = await exitWithin(fx.bot, EXIT_WAIT_MS);
    expect(exit, fx.bot.stdout().slice(-3000)).not.toBe('still running');
    expect(exit).toMatchObject({ code: 1 });
    expect(closedLine(fx.bot, 4004)?.msg).toMatch(/authentication failed/i);
    // The stop itself was clean: the 1 is for the close.
    expect(fx.bot.logs.some((l) => l.msg === 'stopped')).toBe(true);
    const t = await fx.transfer(id);
    expect(t.status).toBe('interrupted');
    const posted = fx.fake.allMessagesEver().filter((m) => m.content.includes(id) && m.attachments.length > 0).length;
    expect(t.parts.length).toBe(posted);
  });

  it.each([
    [4010, /invalid shard/i],
    [4011, /sharding required/i],
    [4012, /API version/i],
    [4013, /invalid intent/i],
    [4014, /disallowed intent/i],
  ])('GIVEN an idle bot WHEN the gateway closes with %i THEN it logs the meaning and exits 1', async (code, meaning) => {
    fx = await startBotFixture();
    fx.fake.closeGateway(code);
    const exit = await exitWithin(fx.bot, EXIT_WAIT_MS);
    expect(exit).toMatchObject({ code: 1 });
    expect(closedLine(fx.bot, code)?.msg).toMatch(meaning);
    expect(fx.bot.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('GIVEN a recoverable close (4000) THEN the bot reconnects and keeps running', async () => {
    fx = await startBotFixture();
    fx.fake.closeGateway(4000);
    expect(await exitWithin(fx.bot, 2_000)).toBe('still running');
    const status = await fx.command({ name: 'status' });
    expect(status.callback()).toBeDefined();
  });

  it('GIVEN Discord refuses the IDENTIFY with 4014 THEN the login fails, the meaning is logged and the bot exits 1', async () => {
    fake = await startFakeDiscord({ identifyCloseCode: 4014 });
    work = await tempDir('dfs-identify-');
    const bot = await startBotProcess({
      cwd: work,
      waitReady: false,
      env: { DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl, FILES_ROOT: work, PROGRESS_FILE_PATH: path.join(work, 'p.json') },
    });
    const exit = await exitWithin(bot, EXIT_WAIT_MS);
    if (exit === 'still running') await bot.kill('SIGKILL');
    expect(exit).toMatchObject({ code: 1 });
    expect(closedLine(bot, 4014)?.msg).toMatch(/disallowed intent/i);
    expect(bot.stderr()).toMatch(/4014/);
  });
});
