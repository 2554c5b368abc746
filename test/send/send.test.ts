/**
 * Sending a file from a member's computer, end to end: `/send` gives a link, redeeming it
 * gives a grant, tus-js-client uploads the file, and the bot posts it as it arrives. The bot
 * runs as its own process against the fake Discord.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { sha256File } from '../support/hash.js';
import { freePort } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';
import { redeem, sendLink, tusUpload } from '../support/send.js';
import { stagingLeft } from '../support/tus-requests.js';
import { MIB } from '../support/units.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';

let fx: BotFixture | undefined;
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
});

async function startWithWeb(env: Record<string, string> = {}): Promise<{ fx: BotFixture; base: string }> {
  const port = await freePort();
  fx = await startBotFixture({ env: { WEB_PORT: String(port), WEB_SECRET: SECRET, ...env } });
  return { fx, base: `http://127.0.0.1:${port}` };
}

describe('/send and a tus upload', () => {
  it(
    'GIVEN /send WHEN the member uploads a file with tus THEN it is posted in parts and the manifest sha256 is the file',
    { timeout: 90_000 },
    async () => {
      const { fx: bot } = await startWithWeb();
      const file = path.join(bot.work, 'home', 'holiday video.mp4');
      await mkdir(path.dirname(file), { recursive: true });
      await writeSeededFile(file, 5 * MIB + 123, 25);
      const reply = await sendLink(bot, { options: [{ name: 'chunk_size', type: 4, value: 1 }] });
      expect(reply.ephemeral).toBe(true);
      expect(reply.link).not.toBeNull();
      const { grant, files } = await redeem(reply.link!);
      expect(grant).not.toBeNull();
      const result = await tusUpload(files!, grant!, file);
      expect(result.error).toBeNull();
      const id = result.url!.split('/').pop()!;
      const t = await bot.waitForStatus(id, ['complete', 'error', 'cancelled']);
      expect(t.status).toBe('complete');
      expect(t.file_sha256).toBe(await sha256File(file));
      expect(t.total_chunks).toBe(6);
      expect(t.file_name).toBe('holiday_video.mp4');
      // Staging empties once the transfer has ended (just after its record says so).
      expect(await stagingLeft(path.join(bot.work, 'staging'))).toEqual([]);
      // The link was single use.
      expect((await redeem(reply.link!)).status).toBe(401);
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );

  it(
    'GIVEN STAGING_PER_UPLOAD_BYTES of one part, less than one message of three parts WHEN a file is sent THEN the parts gathered are posted while the upload waits, and it completes',
    { timeout: 90_000 },
    async () => {
      const { fx: bot } = await startWithWeb({ STAGING_PER_UPLOAD_BYTES: String(MIB), MAX_CHUNKS_PER_MESSAGE: '3' });
      const file = path.join(bot.work, 'small-staging.bin');
      await writeSeededFile(file, 4 * MIB + 5, 26);
      const { link } = await sendLink(bot, { options: [{ name: 'chunk_size', type: 4, value: 1 }] });
      const { grant, files } = await redeem(link!);
      const result = await tusUpload(files!, grant!, file);
      expect(result.error).toBeNull();
      const t = await bot.waitForStatus(result.url!.split('/').pop()!, ['complete', 'error', 'cancelled']);
      expect(t.status).toBe('complete');
      expect(t.file_sha256).toBe(await sha256File(file));
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );
});
