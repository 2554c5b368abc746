/**
 * The dashboard's links for a transfer whose parts are in a thread (README, 'Parts in a
 * thread'), in a real headless Chromium: each Discord link names the channel or thread the
 * record holds, and the download link gives the file back, byte for byte.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { artifactsDir, browserSkipReason, launchBrowser } from '../support/browser.js';
import { sha256 } from '../support/hash.js';
import { waitUntil } from '../support/held.js';
import { freePort } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';
import { MIB } from '../support/units.js';
import { dashboardLink } from '../support/web.js';

/** The page's DOM inside page.waitForFunction callbacks: the project's tsconfig has no DOM lib. */
declare const document: { querySelector(selector: string): { dataset: Record<string, string | undefined> } | null };

const skip = browserSkipReason();
if (skip) console.warn(`skipping the browser tests: ${skip}`);

describe.skipIf(skip !== null)('the dashboard of a transfer in a thread, in a browser', () => {
  let fx: BotFixture;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    fx = await startBotFixture({
      env: { PARTS_IN: 'thread', WEB_PORT: String(await freePort()), WEB_SECRET: 'thread-links-secret-0123456789abcdef' },
    });
    browser = await launchBrowser();
    context = await browser.newContext({ acceptDownloads: true });
  });
  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close();
    await fx?.stop();
  });

  /** The hrefs of a card's links of one kind, in order. */
  const hrefs = (page: Page, card: string, field: string) =>
    page.$$eval(`${card} a[data-field="${field}"]`, (links) => links.map((a) => a.getAttribute('href')));

  it('GIVEN a complete /split in thread mode THEN its card links the progress message in the channel, the manifest and the parts thread, and its download link gives the file back', async () => {
    const channelId = fx.fake.channels[0]!.id;
    const name = 'thread links.bin';
    const source = await writeSeededFile(path.join(fx.filesRoot, name), 3 * MIB + 7, 26);
    const id = await fx.split(name, { chunkSizeMiB: 1, channelId, permissions: PERMISSIONS.ADMINISTRATOR });
    const t = await fx.waitForStatus(id, ['complete', 'error']);
    expect(t.status, t.notes.join('; ')).toBe('complete');
    const [thread] = t.threads;
    expect(thread?.lane).toBe(0);
    const threadId = thread!.id;
    expect(t.manifest_channel_id).toBe(threadId);
    expect(t.parts.map((p) => p.channel_id)).toEqual(Array(4).fill(threadId));

    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const { link } = await dashboardLink(fx, { permissions: PERMISSIONS.ADMINISTRATOR });
    await page.goto(link!);
    const card = `article[data-id="${id}"]`;
    // Drawn by the page's script from a live update (the server drew them first, the same).
    await page.waitForFunction((selector) => document.querySelector(`${selector} [data-field="links"]`)?.dataset.filled === 'yes', card, {
      timeout: 10_000,
    });
    const discord = `https://discord.com/channels/${fx.fake.guildId}`;
    expect(await hrefs(page, card, 'progress-link')).toEqual([`${discord}/${channelId}/${t.progress_message_id}`]);
    expect(await hrefs(page, card, 'manifest-link')).toEqual([`${discord}/${threadId}/${t.manifest_message_id}`]);
    expect(await hrefs(page, card, 'thread-link')).toEqual([`${discord}/${threadId}`]);
    expect(await page.textContent(`${card} a[data-field="thread-link"]`)).toBe('parts thread');
    // Each link's ids are where the fake holds those messages: the progress message in the
    // channel, the manifest in the thread the bot started from it.
    expect(fx.fake.messages(channelId).some((m) => m.id === t.progress_message_id)).toBe(true);
    const manifest = fx.fake.messages(threadId).find((m) => m.id === t.manifest_message_id);
    expect(manifest?.attachments.map((a) => a.filename)).toEqual(['thread_links.bin.manifest.json']);
    expect(fx.fake.threads(channelId).map((x) => x.id)).toEqual([threadId]);

    await page.click(`${card} button[data-field="share"]`);
    await page.waitForSelector(`${card} a[data-field="download"]:not([hidden])`, { timeout: 5_000 });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.click(`${card} a[data-field="download"]`)]);
    expect(download.suggestedFilename()).toBe(name);
    expect(sha256(await readFile(await download.path()))).toBe(source);
    await page.screenshot({ path: path.join(await artifactsDir(), 'dashboard-thread.png'), fullPage: true });

    // The transfer's own page links the same.
    await page.goto(new URL(`/transfers/${id}`, page.url()).href);
    await page.waitForFunction(() => document.querySelector('[data-field="links"]')?.dataset.filled === 'yes', null, { timeout: 10_000 });
    expect(await hrefs(page, 'article.transfer', 'thread-link')).toEqual([`${discord}/${threadId}`]);
    expect(await hrefs(page, 'article.transfer', 'manifest-link')).toEqual([`${discord}/${threadId}/${t.manifest_message_id}`]);
    expect(errors).toEqual([]);

    await waitUntil(() => fx.fake.threads(channelId)[0]?.archived === true, 'the thread archived');
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});
