/**
 * The send page in a real browser (headless Chromium through playwright-core), with the bot
 * as its own process against the fake Discord: a member opens `/send`'s link, picks a 64 MiB
 * file, and it is posted with the file's sha256; the same with the browser offline for a while
 * mid-upload; and "Send a file" from the dashboard. Discord's answers are held where the test
 * needs the upload to be mid-file, so nothing depends on the machine's speed.
 */
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { artifactsDir, browserSkipReason, launchBrowser } from '../support/browser.js';
import { sha256File } from '../support/hash.js';
import { holdAfterParts, waitUntil } from '../support/held.js';
import { writeSeededFile } from '../support/random-file.js';
import { heldAtFake, openSendPage, pickFile, startSendBot, waitForSendForm } from '../support/send-page.js';
import { tempDirForFile } from '../support/temp.js';
import { MIB } from '../support/units.js';
import { dashboardLink } from '../support/web.js';

/** The page's DOM inside page.waitForFunction callbacks: the project's tsconfig has no DOM lib. */
declare const document: { body: { dataset: Record<string, string | undefined> }; documentElement: { scrollWidth: number } };

const skip = browserSkipReason();
if (skip) console.warn(`skipping the send page's browser tests: ${skip}`);

describe.skipIf(skip !== null)('the send page in a browser', () => {
  let fx: BotFixture;
  let browser: Browser;
  let dir: string;
  let big: string;
  const contexts: BrowserContext[] = [];
  const postedParts = () => fx.fake.messages().filter((m) => m.attachments.length > 0).length;

  beforeAll(async () => {
    fx = await startSendBot();
    dir = await tempDirForFile('dfs-send-browser-');
    big = path.join(dir, 'holiday film.mkv');
    await writeSeededFile(big, 64 * MIB, 64);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await fx?.stop();
  });

  it(
    'GIVEN /send WHEN the member picks a 64 MiB file in the page THEN it is posted in parts and the manifest sha256 is the file',
    { timeout: 180_000 },
    async () => {
      const { context, page, errors } = await openSendPage(fx, browser);
      contexts.push(context);
      expect(new URL(page.url()).pathname).toBe('/send');
      expect(await page.textContent('#send-target')).toMatch(/parts of 8\.0 MiB/);
      const id = await pickFile(page, big);
      const done = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 150_000);
      expect(done.status).toBe('complete');
      expect(done.file_sha256).toBe(await sha256File(big));
      expect(done.total_chunks).toBe(8);
      // The page follows the transfer to its end and says so.
      await page.waitForFunction(() => document.body.dataset.transferStatus === 'complete', null, { timeout: 15_000 });
      expect(await page.textContent('[data-field="state"]')).toContain(done.file_sha256!);
      expect(await page.textContent('[data-field="parts"]')).toBe('8 of 8');
      await page.screenshot({ path: path.join(await artifactsDir(), 'send.png'), fullPage: true });
      expect(errors).toEqual([]);
    },
  );

  it(
    'GIVEN an upload mid-file WHEN the browser is offline for a while THEN the page continues by itself once back and the sha256 matches',
    { timeout: 180_000 },
    async () => {
      // Discord's answers held once two more parts are posted: the upload cannot pass a part beyond them.
      const hold = holdAfterParts(fx.fake, postedParts() + 2);
      try {
        const { context, page, errors } = await openSendPage(fx, browser);
        contexts.push(context);
        const failed: string[] = [];
        page.on('requestfailed', (r) => failed.push(`${r.method()} ${r.failure()?.errorText ?? ''}`));
        const id = await pickFile(page, big);
        await heldAtFake(fx);
        await context.setOffline(true);
        // Offline long enough for the upload to fail and a retry of the page's client to fail too.
        await waitUntil(() => failed.length >= 2, 'the upload and a retry failing while offline', 30_000);
        expect(await page.textContent('[data-field="state"]')).toMatch(/offline/);
        hold.release();
        await context.setOffline(false);
        const done = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 150_000);
        expect(done.status).toBe('complete');
        expect(done.file_sha256).toBe(await sha256File(big));
        expect(errors).toEqual([]);
      } finally {
        hold.release();
      }
    },
  );

  it(
    'GIVEN /dashboard run in a channel where the member may post WHEN they click "Send a file" THEN the send page uploads to that channel',
    { timeout: 90_000 },
    async () => {
      const small = path.join(dir, 'notes <b>.txt');
      await writeSeededFile(small, 3 * MIB + 7, 3);
      const context = await browser.newContext({ viewport: { width: 360, height: 740 }, colorScheme: 'dark' });
      contexts.push(context);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      const { link } = await dashboardLink(fx, { permissions: PERMISSIONS.MEMBER | PERMISSIONS.MANAGE_GUILD });
      await page.goto(link!);
      await page.click('#send-file button');
      await waitForSendForm(page);
      expect(new URL(page.url()).pathname).toBe('/send');
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
      const id = await pickFile(page, small);
      // The hostile name is text in the page.
      expect(await page.textContent('[data-field="name"]')).toBe('notes <b>.txt');
      const done = await fx.waitForStatus(id, ['complete', 'error', 'cancelled'], 60_000);
      expect(done.status).toBe('complete');
      expect(done.channel_id).toBe(fx.fake.channels[0]!.id);
      expect(done.file_sha256).toBe(await sha256File(small));
      await page.waitForFunction(() => document.body.dataset.transferStatus === 'complete', null, { timeout: 15_000 });
      await page.screenshot({ path: path.join(await artifactsDir(), 'send-phone-dark.png'), fullPage: true });
      expect(errors).toEqual([]);

      // A member who cannot post files in the channel gets no "Send a file".
      const viewer = await context.newPage();
      const { link: viewerLink } = await dashboardLink(fx, { permissions: PERMISSIONS.MANAGE_GUILD | (1n << 10n) });
      await viewer.goto(viewerLink!);
      expect(await viewer.$('#send-file')).toBeNull();
      expect(unexpectedErrors(fx.bot)).toEqual([]);
    },
  );
});
