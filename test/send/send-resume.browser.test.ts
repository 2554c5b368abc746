/**
 * The send page in a real browser, interrupted mid-upload of a 64 MiB file: the page reloaded
 * and the same file picked again (it continues from the bot's offset: bytes already staged are
 * not sent again), and the bot SIGKILLed and started again (the page's client goes on by
 * itself; no part is posted twice). Discord's answers are held so the upload is mid-file when
 * the test interrupts it.
 */
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotFixture } from '../support/bot-fixture.js';
import { browserSkipReason, launchBrowser } from '../support/browser.js';
import { sha256File } from '../support/hash.js';
import { holdAfterParts } from '../support/held.js';
import { writeSeededFile } from '../support/random-file.js';
import { heldAtFake, openSendPage, PART, pickFile, postedPartNames, stagedOffset, startSendBot, waitForSendForm } from '../support/send-page.js';
import { tempDirForFile } from '../support/temp.js';
import { MIB } from '../support/units.js';

/** The page's DOM inside page.waitForFunction callbacks: the project's tsconfig has no DOM lib. */
declare const document: { body: { dataset: Record<string, string | undefined> } };

const skip = browserSkipReason();
if (skip) console.warn(`skipping the send page's resume tests: ${skip}`);

const SIZE = 64 * MIB;

describe.skipIf(skip !== null)('the send page interrupted mid-upload', () => {
  let fx: BotFixture;
  let browser: Browser;
  let dir: string;
  const contexts: BrowserContext[] = [];
  const postedParts = () => fx.fake.messages().filter((m) => m.attachments.length > 0).length;

  beforeAll(async () => {
    fx = await startSendBot();
    dir = await tempDirForFile('dfs-send-resume-');
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await fx?.stop();
  });

  it(
    'GIVEN an upload mid-file WHEN the page is reloaded and the same file picked again THEN it continues from the bot offset and sends nothing it had staged again',
    { timeout: 180_000 },
    async () => {
      const file = path.join(dir, 'reloaded.bin');
      await writeSeededFile(file, SIZE, 65);
      const hold = holdAfterParts(fx.fake, postedParts() + 2);
      try {
        const { context, page, errors } = await openSendPage(fx, browser);
        contexts.push(context);
        const id = await pickFile(page, file);
        await heldAtFake(fx);
        // What the bot had staged when the page reloaded.
        const staged = await stagedOffset(fx, id);
        expect(staged).toBeGreaterThanOrEqual(2 * PART);
        expect(staged).toBeLessThan(SIZE);
        await page.reload();
        await waitForSendForm(page);
        // The reloaded page's PATCH requests, with the offset each starts at.
        const patches: number[] = [];
        page.on('request', (r) => {
          if (r.method() === 'PATCH') patches.push(Number(r.headers()['upload-offset']));
        });
        hold.release();
        expect(await pickFile(page, file)).toBe(id);
        const done = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 150_000);
        expect(done.status).toBe('complete');
        expect(done.file_sha256).toBe(await sha256File(file));
        // It went on from the bot's offset: no byte staged before the reload was sent again (not even one part).
        expect(patches.length).toBeGreaterThan(0);
        expect(Math.min(...patches)).toBeGreaterThanOrEqual(staged);
        console.info(`reloaded with ${(staged / MIB).toFixed(1)} MiB staged; the page went on at ${(patches[0]! / MIB).toFixed(1)} MiB`);
        await page.waitForFunction(() => document.body.dataset.transferStatus === 'complete', null, { timeout: 15_000 });
        expect(errors).toEqual([]);
      } finally {
        hold.release();
      }
    },
  );

  it(
    'GIVEN an upload mid-file WHEN the bot is SIGKILLed and started again THEN the page goes on by itself, no part is posted twice and the sha256 matches',
    { timeout: 240_000 },
    async () => {
      const file = path.join(dir, 'killed.bin');
      await writeSeededFile(file, SIZE, 66);
      const hold = holdAfterParts(fx.fake, postedParts() + 2);
      try {
        const { context, page, errors } = await openSendPage(fx, browser);
        contexts.push(context);
        const id = await pickFile(page, file);
        await heldAtFake(fx);
        const staged = await stagedOffset(fx, id);
        expect(staged).toBeLessThan(SIZE);
        // The bot dies with a message held at Discord; the same WEB_SECRET keeps the page's grant good.
        await fx.restartBot();
        hold.release();
        const done = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 200_000);
        expect(done.status).toBe('complete');
        expect(done.file_sha256).toBe(await sha256File(file));
        const names = postedPartNames(fx, 'killed.bin');
        expect(names.length).toBe(8);
        expect(new Set(names).size).toBe(names.length);
        await page.waitForFunction(() => document.body.dataset.transferStatus === 'complete', null, { timeout: 20_000 });
        expect(errors).toEqual([]);
      } finally {
        hold.release();
      }
    },
  );
});
