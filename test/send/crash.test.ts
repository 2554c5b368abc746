/**
 * A SIGKILL of the bot in the middle of an upload from a member's computer: the tus client
 * (tus-js-client in Node) retries, continues from the offset the restarted bot reports, no
 * part is posted twice, and what was posted is the sender's file, plain and encrypted (the
 * encrypted run starts again in the middle of a 64 KiB age chunk: 1 MiB parts are not a
 * multiple of the sealed chunk). Mid-way is made so by the fake Discord holding every message
 * after a few parts and STAGING_PER_UPLOAD_BYTES pausing the upload behind them.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AGE_MISSING, ageDecrypt, MUST_HAVE_AGE, newIdentity } from '../support/age.js';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { sha256, sha256File } from '../support/hash.js';
import { holdAfterParts, waitUntil } from '../support/held.js';
import { freePort } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { redeem, sendLink, tusUpload } from '../support/send.js';
import { tempDir } from '../support/temp.js';
import { stagedBytes, stagedEnd } from '../support/tus-requests.js';
import { MIB } from '../support/units.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';

let fx: BotFixture | undefined;
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
});

/** Uploads a 12 MiB file, kills the bot once the upload is paused behind the first posted message, restarts it, and lets the client finish. */
async function uploadAcrossKill(recipient: string | null): Promise<{ bot: BotFixture; id: string; file: string }> {
  const port = await freePort();
  const bot = await startBotFixture({
    env: { WEB_PORT: String(port), WEB_SECRET: SECRET, STAGING_PER_UPLOAD_BYTES: String(3 * MIB) },
  });
  fx = bot;
  const file = path.join(bot.work, 'big.bin');
  await writeSeededFile(file, 12 * MIB + 4321, 77);
  const options = [{ name: 'chunk_size', type: 4, value: 1 }, ...(recipient ? [{ name: 'recipient', type: 3, value: recipient }] : [])];
  const reply = await sendLink(bot, { options });
  const { grant, files } = await redeem(reply.link!);
  const held = holdAfterParts(bot.fake, 1);
  const upload = tusUpload(files!, grant!, file, {
    // Long enough, together, for the bot to start again.
    retryDelays: [200, 500, 1000, 1000, 2000, 2000, 2000, 4000, 4000, 4000],
  });
  const staging = path.join(bot.work, 'staging');
  // A message of parts posted, the next held, and the upload paused with 3 MiB waiting: mid-way, however fast the machine.
  await waitUntil(() => held.posted() >= 1, 'the first message of parts posted', 30_000);
  // And recorded: the kill must come after the bot knows it (else the restart finds it in the channel instead).
  const sending = (await bot.readProgress()).active_transfers.find((t) => t.source.kind === 'send')!.id;
  expect((await bot.waitForParts(sending, 1, 30_000)).parts.length).toBeGreaterThanOrEqual(1);
  let staged = 0;
  for (let i = 0; i < 1000 && staged < 3 * MIB; i++) {
    staged = await stagedBytes(staging);
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(staged).toBeGreaterThanOrEqual(3 * MIB);
  const progress = await bot.readProgress();
  const id = progress.active_transfers.find((t) => t.source.kind === 'send')!.id;
  await bot.bot.kill('SIGKILL');
  // Killed mid-way: the bot had not received it all (the client may have written more into the
  // socket's buffers, which can hold megabytes on loopback: its own count says nothing here).
  const received = await stagedEnd(path.join(staging, id));
  expect(received).toBeGreaterThan(MIB);
  expect(received).toBeLessThan(12 * MIB + 4321);
  held.release();
  const restarted = await bot.restartBot();
  const result = await upload;
  expect(result.error).toBeNull();
  // The run after the restart went on from the parts already posted, not from the start.
  const resumed = await restarted.waitForLog((l) => l.msg === 'transfer_started' && l.transfer_id === id);
  expect(resumed.parts_done).toBeGreaterThan(0);
  return { bot, id, file };
}

describe('sending: a SIGKILL of the bot mid-upload', () => {
  it(
    'GIVEN an upload paused mid-way WHEN the bot is SIGKILLed and started again THEN the client continues, no part is posted twice, and the manifest sha256 is the file',
    { timeout: 120_000 },
    async () => {
      const { bot, id, file } = await uploadAcrossKill(null);
      const t = await bot.waitForStatus(id, ['complete', 'error', 'cancelled']);
      expect(t.status).toBe('complete');
      const sha = await sha256File(file);
      expect(t.file_sha256).toBe(sha);
      const rebuilt = rebuildFromFake(bot.fake, id);
      expect(rebuilt.manifest.file.sha256).toBe(sha);
      expect(rebuilt.sha256).toBe(sha);
      const names = postedPartNames(bot.fake, id);
      expect(names).toHaveLength(13);
      expect(new Set(names).size).toBe(names.length);
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );

  it.skipIf(AGE_MISSING !== null && !MUST_HAVE_AGE)(
    'GIVEN an encrypted upload paused mid-way WHEN the bot is SIGKILLed and started again THEN it starts again mid age chunk, no part is posted twice, and age decrypts the parts to the file',
    { timeout: 120_000 },
    async () => {
      const alice = await newIdentity(await tempDir('dfs-send-key-'));
      const { bot, id, file } = await uploadAcrossKill(alice.recipient);
      const t = await bot.waitForStatus(id, ['complete', 'error', 'cancelled']);
      expect(t.status).toBe('complete');
      const rebuilt = rebuildFromFake(bot.fake, id);
      expect(rebuilt.manifest.file.sha256).toBe(rebuilt.sha256);
      expect(t.file_sha256).toBe(rebuilt.sha256);
      const names = postedPartNames(bot.fake, id);
      expect(new Set(names).size).toBe(names.length);
      expect(names.length).toBe(t.total_chunks);
      // The restart began after a whole number of posted MiB: not on an age chunk boundary.
      const joined = path.join(bot.work, 'joined.age');
      await writeFile(joined, rebuilt.bytes());
      const plain = await ageDecrypt(joined, alice.file);
      expect(plain.length).toBe(12 * MIB + 4321);
      expect(sha256(plain)).toBe(await sha256File(file));
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );
});
