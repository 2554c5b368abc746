/**
 * A full staging disk pauses an upload from a member's computer and loses nothing: STAGING_DIR
 * is a 3 MiB tmpfs (needs root: skipped, saying why, elsewhere) and Discord answers nothing
 * until the test lets it, so the disk fills whatever the machine's speed. The bot stays up,
 * and once parts are posted and their staged bytes released, the upload completes.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { sha256File } from '../support/hash.js';
import { holdAfterParts } from '../support/held.js';
import { freePort } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';
import { redeem, sendLink, tusUpload } from '../support/send.js';
import { tmpfsForTest } from '../support/tmpfs.js';
import { stagedBytes, stagingLeft } from '../support/tus-requests.js';
import { MIB } from '../support/units.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';

let fx: BotFixture | undefined;
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
});

describe('sending: a full staging disk', () => {
  it(
    'GIVEN STAGING_DIR on a full disk WHEN a file is sent THEN the upload pauses, the bot stays up, and it completes with the right sha256 once parts are posted',
    { timeout: 120_000 },
    async (context) => {
      const staging = await tmpfsForTest(context, 3 * MIB);
      const port = await freePort();
      // More may wait than the disk holds: the disk is what stops the upload.
      fx = await startBotFixture({
        env: {
          WEB_PORT: String(port),
          WEB_SECRET: SECRET,
          STAGING_DIR: staging,
          STAGING_PER_UPLOAD_BYTES: String(8 * MIB),
          MAX_CHUNKS_PER_MESSAGE: '1',
        },
      });
      const bot = fx;
      const file = path.join(bot.work, 'home', 'f.bin');
      await mkdir(path.dirname(file), { recursive: true });
      await writeSeededFile(file, 9 * MIB + 17, 3);
      const reply = await sendLink(bot, { options: [{ name: 'chunk_size', type: 4, value: 1 }] });
      const { grant, files } = await redeem(reply.link!);
      const held = holdAfterParts(bot.fake, 0);
      let done = false;
      const upload = tusUpload(files!, grant!, file, { retryDelays: [200, 500, 1000, 1000, 2000, 2000, 2000] }).finally(() => (done = true));
      // Bounded: the disk fills (whole pages: a little under 3 MiB of segments).
      let staged = 0;
      for (let i = 0; i < 1500 && staged < 2 * MIB; i++) {
        staged = await stagedBytes(staging);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(staged).toBeGreaterThanOrEqual(2 * MIB);
      const id = (await bot.readProgress()).active_transfers.find((t) => t.source.kind === 'send')!.id;
      // Paused, and the bot keeps answering (the transfer's status; HEAD would wait for the upload's lock).
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${files!.replace(/files\/$/, 'send/status/')}${id}`, { headers: { Authorization: `Bearer ${grant!}` } });
        expect(res.status).toBe(200);
        expect(['pending', 'in_progress']).toContain(((await res.json()) as { status: string }).status);
        expect(await stagedBytes(staging)).toBeLessThanOrEqual(3 * MIB);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(done).toBe(false);
      expect(bot.bot.child.exitCode).toBeNull();
      held.release();
      // The record first (bounded): an upload whose transfer failed would only end after the client's retries.
      const t = await bot.waitForStatus(id, ['complete', 'error', 'cancelled'], 60_000);
      expect(t.status, t.notes.join('; ')).toBe('complete');
      expect((await upload).error).toBeNull();
      expect(t.file_sha256).toBe(await sha256File(file));
      expect(await stagingLeft(staging)).toEqual([]);
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );
});
