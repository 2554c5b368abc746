/** Start-up refusals, the lock, SIGTERM, and the token kept out of every log line. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscord } from '../support/fake-discord/index.js';
import type { FakeDiscord } from '../support/fake-discord/types.js';
import { startBotProcess, type BotProcess } from '../support/bot-process.js';
import { startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import { writeSeededFile } from '../support/random-file.js';
import { holdAfterParts } from '../support/held.js';
import { rebuildFromFake } from '../support/rebuild.js';
import { MIB } from '../support/units.js';
import { tempDirForFile } from '../support/temp.js';

const MESSAGES = 'POST /channels/:id/messages';

describe('a progress file the bot cannot use stops it before it connects', () => {
  let fake: FakeDiscord;
  let work: string;
  beforeAll(async () => {
    fake = await startFakeDiscord();
    work = await tempDirForFile('dfs-refuse-');
  });
  afterAll(async () => {
    await fake.stop();
  });

  const valid = { schema_version: 1, active_transfers: [] };
  const cases: [string, string, RegExp][] = [
    ['corrupt', '{"schema_version": 1, "active_transfers": [', /JSON/i],
    ['truncated', JSON.stringify(valid).slice(0, 20), /JSON/i],
    ['empty', '', /empty/i],
    ['wrong-schema', JSON.stringify({ schema_version: 1, active_transfers: [{ id: 'nope' }] }), /active_transfers/],
    ['newer-version', JSON.stringify({ schema_version: 99, active_transfers: [] }), /schema_version|newer/i],
  ];

  it.each(cases)(
    'GIVEN a %s progress file THEN the bot exits 1 naming the file and the problem, and the file is byte-identical',
    async (label, text, problem) => {
      const file = path.join(work, `${label}.json`);
      await fs.writeFile(file, text);
      const requestsBefore = fake.requests.length;
      const bot = await startBotProcess({
        cwd: work,
        waitReady: false,
        env: { DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl, FILES_ROOT: work, PROGRESS_FILE_PATH: file },
      });
      const { code } = await bot.exited;
      expect(code).toBe(1);
      expect(bot.stderr()).toContain(file);
      expect(bot.stderr()).toMatch(problem);
      expect(await fs.readFile(file, 'utf8')).toBe(text);
      expect(fake.requests.length).toBe(requestsBefore);
      expect(fake.gatewayConnections()).toBe(0);
    },
  );

  it('GIVEN no token THEN npm start-like runs exit 1 pointing at .env.example', async () => {
    const bot = await startBotProcess({ cwd: work, waitReady: false, env: { FILES_ROOT: work } });
    expect((await bot.exited).code).toBe(1);
    expect(bot.stderr()).toMatch(/DISCORD_TOKEN/);
    expect(bot.stderr()).toMatch(/\.env\.example/);
  });

  it('GIVEN several bad keys THEN all are reported at once', async () => {
    const bot = await startBotProcess({
      cwd: work,
      waitReady: false,
      env: { DISCORD_TOKEN: 'x', MAX_PARALLEL_UPLOADS: 'lots', AUTO_RESUME: 'maybe', ALLOWED_ROLE_IDS: 'abc' },
    });
    expect((await bot.exited).code).toBe(1);
    for (const key of ['MAX_PARALLEL_UPLOADS', 'AUTO_RESUME', 'ALLOWED_ROLE_IDS']) expect(bot.stderr()).toContain(key);
  });
});

describe('two processes, SIGTERM and the token', () => {
  let fx: BotFixture;
  const extra: BotProcess[] = [];
  beforeAll(async () => {
    fx = await startBotFixture({ env: { MAX_CHUNKS_PER_MESSAGE: '1' } });
    await writeSeededFile(path.join(fx.filesRoot, 'data.bin'), 12 * MIB, 5);
  });
  afterEach(async () => {
    fx.fake.faults.clear();
    await Promise.all(extra.splice(0).map((b) => b.kill('SIGKILL')));
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('GIVEN a running bot WHEN a second one starts on the same progress file THEN it refuses and the first is unaffected', async () => {
    const second = await startBotProcess({ cwd: fx.work, env: fx.env, waitReady: false });
    extra.push(second);
    expect((await second.exited).code).toBe(1);
    expect(second.stderr()).toMatch(/transfer_progress\.lock/);
    expect(second.stderr()).toMatch(new RegExp(`pid ${fx.bot.child.pid}`));
    const id = await fx.split('data.bin', { chunkSizeMiB: 4 });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
  });

  it('GIVEN a transfer in the middle WHEN SIGTERM arrives THEN the bot exits 0 within 10 s with it interrupted, and a restart completes it', async () => {
    // Messages after this transfer's second part wait at the fake until the bot has stopped
    // dispatching (the fake counts every part it holds: the test before posted some).
    const before = fx.fake.messages().filter((m) => m.attachments.length > 0).length;
    const held = holdAfterParts(fx.fake, before + 2);
    const id = await fx.split('data.bin', { chunkSizeMiB: 1 });
    expect((await fx.waitForParts(id, 2)).parts.length).toBeGreaterThanOrEqual(2);
    const started = Date.now();
    fx.bot.child.kill('SIGTERM');
    await fx.bot.waitForLog((l) => l.msg.startsWith('shutting down'), 10_000).finally(held.release);
    const { code } = await fx.bot.exited;
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    const stopped = await fx.transfer(id);
    expect(stopped.status).toBe('interrupted');
    const posted = fx.fake.allMessagesEver().filter((m) => m.content.includes(id) && m.attachments.length > 0).length;
    expect(stopped.parts.length).toBe(posted);
    fx.fake.faults.clear();
    await fx.restartBot();
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    expect(rebuildFromFake(fx.fake, id).size).toBe(12 * MIB);
  });

  it('GIVEN failures of every kind THEN the token appears in no log line or error message', async () => {
    fx.fake.faults.add({ route: MESSAGES, kind: 'status', status: 401, times: 1 });
    const id = await fx.split('data.bin', { chunkSizeMiB: 4 });
    await fx.waitForStatus(id, ['error', 'complete']);
    // A wrong token: login fails.
    const wrong = await startBotProcess({
      cwd: fx.work,
      waitReady: false,
      env: { ...fx.env, DISCORD_TOKEN: 'wrong-token-with-enough-characters', PROGRESS_FILE_PATH: path.join(fx.work, 'other.json') },
    });
    extra.push(wrong);
    expect((await wrong.exited).code).toBe(1);
    expect(wrong.stdout() + wrong.stderr()).not.toContain('wrong-token-with-enough-characters');
    const everything = fx.bot.stdout() + fx.bot.stderr();
    expect(everything.length).toBeGreaterThan(0);
    expect(everything).not.toContain(fx.fake.token);
  });
});
