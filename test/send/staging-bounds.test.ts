/**
 * Staging stays bounded and never stalls an upload: STAGING_PER_UPLOAD_BYTES slows the sender
 * while Discord is slow (staging ≤ that + one part), an upload whose staging holds fewer bytes
 * than a message's parts still completes, and staging is empty after complete and cancel.
 * The bot runs as its own process against the fake Discord; tus-js-client uploads.
 */
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AGE_MISSING, MUST_HAVE_AGE, newIdentity } from '../support/age.js';
import { startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { sha256File } from '../support/hash.js';
import { heldAnswer, holdAfterParts } from '../support/held.js';
import { freePort } from '../support/ports.js';
import { seededBytes, writeSeededFile } from '../support/random-file.js';
import { postedPartNames, rebuildFromFake } from '../support/rebuild.js';
import { redeem, sendLink, tusUpload } from '../support/send.js';
import { tempDir } from '../support/temp.js';
import { createUpload, patchUpload, stagedBytes, stagingLeft, tusRequest } from '../support/tus-requests.js';
import { MIB } from '../support/units.js';
import { PERMISSIONS } from '../support/bot-fixture.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';
const MESSAGE_CREATE = 'POST /channels/:id/messages';

let fx: BotFixture | undefined;
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
});

async function startWithWeb(env: Record<string, string>): Promise<BotFixture> {
  const port = await freePort();
  fx = await startBotFixture({ env: { WEB_PORT: String(port), WEB_SECRET: SECRET, ...env } });
  return fx;
}

async function grantOf(bot: BotFixture, chunkMiB: number, recipient?: string): Promise<{ grant: string; files: string }> {
  const options = [{ name: 'chunk_size', type: 4, value: chunkMiB }, ...(recipient ? [{ name: 'recipient', type: 3, value: recipient }] : [])];
  const reply = await sendLink(bot, { options });
  const { grant, files } = await redeem(reply.link!);
  return { grant: grant!, files: files! };
}

/** Sends a seeded file of `size` bytes and waits (bounded) for its transfer to end; it must complete with the file's sha256. */
async function sendsCompletely(bot: BotFixture, size: number, chunkMiB: number, recipient?: string): Promise<string> {
  const file = path.join(bot.work, 'home', 'f.bin');
  await mkdir(path.dirname(file), { recursive: true });
  await writeSeededFile(file, size, 5);
  const { grant, files } = await grantOf(bot, chunkMiB, recipient);
  // Bounded: a stalled upload fails the test instead of hanging it (stopping the bot ends the client).
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), 30_000)));
  const result = await Promise.race([tusUpload(files, grant, file), stalled]).finally(() => clearTimeout(timer));
  if (result === 'stalled') throw new Error(`the upload stalled; staged: ${await stagedBytes(path.join(bot.work, 'staging'))} bytes`);
  expect(result.error).toBeNull();
  const id = result.url!.split('/').pop()!;
  const t = await bot.waitForStatus(id, ['complete', 'error', 'cancelled'], 30_000);
  expect(t.status).toBe('complete');
  if (!recipient) expect(t.file_sha256).toBe(await sha256File(file));
  const names = postedPartNames(bot.fake, id);
  expect(new Set(names).size).toBe(t.total_chunks);
  expect(names).toHaveLength(t.total_chunks!);
  expect(await stagingLeft(path.join(bot.work, 'staging'))).toEqual([]);
  expect(unexpectedErrors(bot.bot)).toEqual([]);
  return id;
}

describe('sending: staging smaller than a message never stalls the upload', () => {
  it(
    'GIVEN STAGING_PER_UPLOAD_BYTES of exactly one message (3 parts of 1 MiB) WHEN a file is sent THEN it completes',
    { timeout: 60_000 },
    async () => {
      const bot = await startWithWeb({ STAGING_PER_UPLOAD_BYTES: String(3 * MIB), MAX_CHUNKS_PER_MESSAGE: '3' });
      await sendsCompletely(bot, 8 * MIB + 3, 1);
    },
  );

  it('GIVEN STAGING_PER_UPLOAD_BYTES of 2 parts and 3 parts a message WHEN a file is sent THEN it completes', { timeout: 60_000 }, async () => {
    const bot = await startWithWeb({ STAGING_PER_UPLOAD_BYTES: String(2 * MIB), MAX_CHUNKS_PER_MESSAGE: '3' });
    await sendsCompletely(bot, 7 * MIB + 3, 1);
  });

  it('GIVEN STAGING_PER_UPLOAD_BYTES below one part WHEN a file is sent THEN it completes', { timeout: 60_000 }, async () => {
    const bot = await startWithWeb({ STAGING_PER_UPLOAD_BYTES: String(1 * MIB), MAX_CHUNKS_PER_MESSAGE: '3' });
    await sendsCompletely(bot, 7 * MIB + 3, 2);
  });

  it.skipIf(AGE_MISSING !== null && !MUST_HAVE_AGE)(
    'GIVEN an encrypted send and STAGING_PER_UPLOAD_BYTES of 3 parts WHEN a file is sent THEN it completes (a message of 3 sealed parts needs more than 3 MiB of plaintext)',
    { timeout: 60_000 },
    async () => {
      const alice = await newIdentity(await tempDir('dfs-send-key-'));
      const bot = await startWithWeb({ STAGING_PER_UPLOAD_BYTES: String(3 * MIB), MAX_CHUNKS_PER_MESSAGE: '3' });
      const id = await sendsCompletely(bot, 8 * MIB + 3, 1, alice.recipient);
      const rebuilt = rebuildFromFake(bot.fake, id);
      expect(rebuilt.manifest.file.sha256).toBe(rebuilt.sha256);
    },
  );
});

describe('sending: staged bytes go when the transfer ends', () => {
  it(
    'GIVEN a send that completes WHEN its end is still being shown (its thread archive held) THEN its staged bytes are already gone',
    { timeout: 60_000 },
    async () => {
      const bot = await startWithWeb({});
      const archive = heldAnswer();
      bot.fake.faults.add({ route: 'PATCH /channels/:id', kind: 'hold', until: archive.hold, times: 1 });
      try {
        const file = path.join(bot.work, 'home', 'f.bin');
        await mkdir(path.dirname(file), { recursive: true });
        await writeSeededFile(file, 3 * MIB + 3, 6);
        const { grant, files } = await grantOf(bot, 1);
        const result = await tusUpload(files, grant, file);
        expect(result.error).toBeNull();
        const id = result.url!.split('/').pop()!;
        const t = await bot.waitForStatus(id, ['complete', 'error', 'cancelled'], 30_000);
        expect(t.status).toBe('complete');
        expect(await stagingLeft(path.join(bot.work, 'staging'))).toEqual([]);
        // Still held: the staged bytes did not wait for the end to be shown.
        expect(bot.fake.threads().some((x) => x.archived)).toBe(false);
      } finally {
        archive.release();
      }
    },
  );
});

describe('sending: staging stays within STAGING_PER_UPLOAD_BYTES', () => {
  it(
    'GIVEN a 256 MiB upload and a slow Discord WHEN it is sent THEN staging never holds more than STAGING_PER_UPLOAD_BYTES + one part, and is empty once complete',
    { timeout: 240_000 },
    async () => {
      const perUpload = 16 * MIB;
      const part = 4 * MIB;
      const bot = await startWithWeb({ STAGING_PER_UPLOAD_BYTES: String(perUpload) });
      const file = path.join(bot.work, 'home', 'big.bin');
      await mkdir(path.dirname(file), { recursive: true });
      await writeSeededFile(file, 256 * MIB + 12_345, 9);
      const { grant, files } = await grantOf(bot, 4);
      const staging = path.join(bot.work, 'staging');
      // Discord answers nothing at first: the upload must stop at the bound, not the machine's speed.
      const held = holdAfterParts(bot.fake, 0);
      let done = false;
      const upload = tusUpload(files, grant, file).finally(() => (done = true));
      let peak = 0;
      const samples: number[] = [];
      const sample = async () => {
        const bytes = await stagedBytes(staging);
        samples.push(bytes);
        peak = Math.max(peak, bytes);
        return bytes;
      };
      for (let i = 0; i < 3000 && (await sample()) < perUpload; i++) await new Promise((r) => setTimeout(r, 20));
      expect(peak).toBeGreaterThanOrEqual(perUpload);
      // Held: the upload is paused at the bound, however long it stays held.
      for (let i = 0; i < 25; i++) {
        await sample();
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(done).toBe(false);
      // Then Discord answers each message a little late, all the way through.
      bot.fake.faults.add({ route: (r) => r.route === MESSAGE_CREATE, kind: 'delay', ms: 40, times: 100_000 });
      held.release();
      for (let i = 0; i < 10_000 && !done; i++) {
        await sample();
        await new Promise((r) => setTimeout(r, 10));
      }
      const result = await upload;
      expect(result.error).toBeNull();
      expect(samples.length).toBeGreaterThan(25);
      expect(peak).toBeGreaterThanOrEqual(perUpload);
      expect(peak).toBeLessThanOrEqual(perUpload + part);
      const id = result.url!.split('/').pop()!;
      const t = await bot.waitForStatus(id, ['complete', 'error', 'cancelled'], 120_000);
      expect(t.status).toBe('complete');
      expect(t.file_sha256).toBe(await sha256File(file));
      expect(await stagingLeft(staging)).toEqual([]);
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );
});

describe('sending: staging is empty once an upload is cancelled', () => {
  it.each(['/cancel', 'tus DELETE'])(
    'GIVEN staged bytes waiting for a held Discord WHEN the upload is cancelled by %s THEN its staging folder is gone',
    { timeout: 60_000 },
    async (how) => {
      const bot = await startWithWeb({});
      const { grant, files } = await grantOf(bot, 1);
      const held = holdAfterParts(bot.fake, 0);
      const bytes = seededBytes(3 * MIB, 4);
      const created = await createUpload(files, grant, 5 * MIB);
      expect((await patchUpload(created.url!, grant, 0, bytes)).status).toBe(204);
      const id = created.url!.split('/').pop()!;
      const staging = path.join(bot.work, 'staging');
      expect(await stagedBytes(staging)).toBe(3 * MIB);
      if (how === '/cancel') {
        const handle = await bot.command({
          name: 'cancel',
          permissions: PERMISSIONS.ADMINISTRATOR,
          options: [{ name: 'transfer', type: 3, value: id }],
        });
        // The cancel waits for the run, which waits for its progress message: Discord answers again.
        held.release();
        await handle.waitFor((h) => Boolean(h.original()?.content), 10_000);
      } else {
        const deleting = tusRequest('DELETE', created.url!, { grant });
        held.release();
        expect((await deleting).status).toBe(204);
      }
      expect((await bot.waitForStatus(id, ['cancelled', 'complete', 'error'])).status).toBe('cancelled');
      for (let i = 0; i < 250 && (await readdir(staging)).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await stagingLeft(staging)).toEqual([]);
      expect((await tusRequest('HEAD', created.url!, { grant })).status).toBe(410);
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );
});
