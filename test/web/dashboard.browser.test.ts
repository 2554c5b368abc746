/**
 * The dashboard in a real browser (headless Chromium through playwright-core), with the bot
 * as its own process against the fake Discord: a member signs in through `/dashboard`, watches
 * a `/split` rise without reloading, cancels it with a click; who sees whose transfers; a
 * hostile name stays text; the page says so when the bot restarts and the session ends.
 * Screenshots go to DFS_TEST_ARTIFACTS (default: dfs-test-artifacts in the temp folder).
 */
import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/store/file-store.js';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { artifactsDir, browserSkipReason, launchBrowser } from '../support/browser.js';
import { holdAfterParts, holdWholeBodyAfterParts, streamingBehind, waitUntil, waitUntilCut } from '../support/held.js';
import { writeSeededFile } from '../support/random-file.js';
import { freePort } from '../support/ports.js';
import { dashboardLink } from '../support/web.js';
import { MIB } from '../support/units.js';
import { sha256 as sha256Of } from '../support/hash.js';
import { tempDirForFile } from '../support/temp.js';

const OWNER = { id: '887766554433221100', username: 'owner' };
const HOSTILE = '<img src=x onerror=alert(1)>.bin';

/** The page's DOM inside page.waitForFunction callbacks: the project's tsconfig has no DOM lib. */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  getElementById(id: string): { textContent: string | null; [key: string]: unknown } | null;
  documentElement: { scrollWidth: number };
};

const skip = browserSkipReason();
const fx0Owner = '776655443322110099';
if (skip) console.warn(`skipping the browser tests: ${skip}`);

describe.skipIf(skip !== null)('the dashboard in a browser', () => {
  let fx: BotFixture;
  let browser: Browser;
  let artifacts: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    const port = await freePort();
    fx = await startBotFixture({
      // UPLOAD_TIMEOUT_MS at its default: a part held at the fake waits for the browser, however slow it is.
      env: {
        WEB_PORT: String(port),
        WEB_SECRET: 'browser-test-secret-0123456789abcdef',
        MAX_CHUNKS_PER_MESSAGE: '1',
        MAX_ACTIVE_TRANSFERS: '10',
        UPLOAD_TIMEOUT_MS: '120000',
      },
    });
    await writeSeededFile(path.join(fx.filesRoot, 'holiday.mkv'), 24 * MIB, 1);
    await writeSeededFile(path.join(fx.filesRoot, 'owners.bin'), 24 * MIB, 2);
    // Three messages of parts: deleted after the first, the last cannot be read.
    await writeSeededFile(path.join(fx.filesRoot, HOSTILE), 8 * MIB, 3);
    browser = await launchBrowser();
    artifacts = await artifactsDir();
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await fx?.stop();
  });

  /** A browser of its own for a member, signed in through `/dashboard`'s link. */
  async function signedIn(permissions: bigint, user?: { id: string; username: string }, options: Parameters<Browser['newContext']>[0] = {}) {
    const context = await browser.newContext(options);
    contexts.push(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const { link } = await dashboardLink(fx, { permissions, ...(user ? { user } : {}) });
    await page.goto(link!);
    expect(new URL(page.url()).pathname).toBe('/');
    return { page, errors, dialogs };
  }

  const postedParts = () => fx.fake.messages().filter((m) => m.attachments.length > 0).length;

  /** Waits for the part held with its whole body and the message streaming behind it: cut off once a cancel reaches the run. */
  const heldAndBehind = async (held: ReturnType<typeof holdWholeBodyAfterParts>) => {
    await waitUntil(() => held.request() !== undefined, 'a part message held at the fake with its whole body');
    return streamingBehind(fx.fake, held.request()!);
  };

  const percentOf = async (page: Page, id: string) =>
    Number((await page.textContent(`article[data-id="${id}"] [data-field="percent"]`))?.replace('%', ''));

  it('GIVEN a member who ran /dashboard WHEN a /split runs THEN the page shows its percent rise without a reload, and Cancel ends it in the progress file and the channel', async () => {
    // Posts held once a part is posted until the page has shown a first percent; then a part held with its whole body until Cancel reaches the run.
    const opening = holdAfterParts(fx.fake, postedParts() + 1);
    let held: ReturnType<typeof holdWholeBodyAfterParts> | undefined;
    try {
      const id = await fx.split('holiday.mkv', { chunkSizeMiB: 1, permissions: PERMISSIONS.ADMINISTRATOR });
      const { page, errors } = await signedIn(PERMISSIONS.ADMINISTRATOR);
      let navigations = 0;
      page.on('framenavigated', () => navigations++);
      const card = `article[data-id="${id}"]`;
      await page.waitForSelector(card);
      expect(await page.textContent(`${card} [data-field="name"]`)).toBe('holiday.mkv');
      const first = await percentOf(page, id);
      held = holdWholeBodyAfterParts(fx.fake, 2);
      opening.release();
      await page.waitForFunction(
        ([selector, before]) => Number(document.querySelector(`${selector} [data-field="percent"]`)?.textContent?.replace('%', '')) > before,
        [card, first] as const,
        { timeout: 10_000 },
      );
      expect(await percentOf(page, id)).toBeGreaterThan(first);
      expect(await page.textContent(`${card} [data-field="status"]`)).toBe('in_progress');
      expect(navigations).toBe(0);
      await page.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });

      const behind = await heldAndBehind(held);
      await page.click(`${card} button[data-field="cancel"]`);
      await waitUntilCut(fx.fake, behind, 'the Cancel click');
      held.release();
      const done = await fx.waitForStatus(id, ['cancelled', 'complete'], 20_000);
      expect(done.status).toBe('cancelled');
      await page.waitForFunction((selector) => document.querySelector(`${selector} [data-field="status"]`)?.textContent === 'cancelled', card, {
        timeout: 5_000,
      });
      expect(await page.isDisabled(`${card} button[data-field="cancel"]`)).toBe(true);
      const progress = () => fx.fake.messages().find((m) => m.id === done.progress_message_id)?.content ?? '';
      for (let i = 0; i < 100 && !/cancelled/.test(progress()); i++) await new Promise((r) => setTimeout(r, 50));
      expect(progress()).toMatch(/cancelled/);
      expect(navigations).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      opening.release();
      held?.release();
      fx.fake.faults.clear();
    }
  });

  it("GIVEN someone else's transfer THEN a member with Manage Messages sees and cancels it, and a plain member sees nothing of it (its page is 404)", async () => {
    // A part held with its whole body, once two are posted, keeps the transfer running until Cancel reaches it.
    const held = holdWholeBodyAfterParts(fx.fake, 2);
    try {
      const id = await fx.split('owners.bin', { chunkSizeMiB: 1, permissions: PERMISSIONS.ADMINISTRATOR, user: OWNER });
      const plain = await signedIn(PERMISSIONS.MEMBER);
      expect(await plain.page.$(`article[data-id="${id}"]`)).toBeNull();
      const direct = await plain.page.goto(new URL(`/transfers/${id}`, plain.page.url()).href);
      expect(direct?.status()).toBe(404);

      const manager = await signedIn(PERMISSIONS.MEMBER | PERMISSIONS.MANAGE_MESSAGES, undefined, {
        viewport: { width: 360, height: 740 },
        colorScheme: 'dark',
      });
      await manager.page.goto(new URL(`/transfers/${id}`, manager.page.url()).href);
      await manager.page.waitForFunction(
        () => (document.querySelector('[data-field="map-summary"]')?.textContent ?? '').match(/^[1-9]\d* of/),
        null,
        {
          timeout: 10_000,
        },
      );
      // The chart needs two samples, a second apart (a steady rate draws a flat line, which Playwright calls hidden).
      await manager.page.waitForSelector('#throughput polyline', { state: 'attached', timeout: 10_000 });
      await manager.page.screenshot({ path: path.join(artifacts, 'transfer-phone-dark.png'), fullPage: true });
      expect(await manager.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
      const behind = await heldAndBehind(held);
      await manager.page.click('button[data-field="cancel"]');
      await waitUntilCut(fx.fake, behind, 'the Cancel click');
      held.release();
      expect((await fx.waitForStatus(id, ['cancelled', 'complete'], 20_000)).status).toBe('cancelled');
      expect(manager.errors).toEqual([]);
    } finally {
      held.release();
      fx.fake.faults.clear();
    }
  });

  it('GIVEN a transfer page at desktop size THEN it shows one cell per part and a throughput chart', async () => {
    const id = await fx.split('holiday.mkv', { chunkSizeMiB: 1, permissions: PERMISSIONS.ADMINISTRATOR });
    await fx.waitForStatus(id, ['complete']);
    const { page } = await signedIn(PERMISSIONS.ADMINISTRATOR, undefined, { viewport: { width: 1100, height: 900 } });
    await page.goto(new URL(`/transfers/${id}`, page.url()).href);
    expect(await page.getAttribute('#part-map', 'data-parts')).toBe('1'.repeat(24));
    expect(await page.textContent('[data-field="map-summary"]')).toBe('24 of 24 posted');
    await page.hover('#part-map', { position: { x: 5, y: 5 } });
    expect(await page.textContent('#part-info')).toBe('part 1: posted');
    await page.screenshot({ path: path.join(artifacts, 'transfer.png'), fullPage: true });
  });

  it('GIVEN a note that names a file called <img src=x onerror=alert(1)>.bin THEN the page shows the name as text and no script runs', async () => {
    // Posts held once a part is posted until the file is gone: the check before the manifest finds it missing.
    const held = holdAfterParts(fx.fake, postedParts() + 1);
    const id = await fx.split(HOSTILE, { chunkSizeMiB: 1, permissions: PERMISSIONS.ADMINISTRATOR });
    try {
      await fx.waitForParts(id, 1, 15_000);
      // Gone mid-transfer: the note names the file as the member gave it.
      await unlink(path.join(fx.filesRoot, HOSTILE));
    } finally {
      held.release();
      fx.fake.faults.clear();
    }
    const failed = await fx.waitForStatus(id, ['error', 'complete'], 20_000);
    expect(failed.notes.at(-1), JSON.stringify({ status: failed.status, notes: failed.notes, parts: failed.completed_chunks })).toContain(HOSTILE);
    const { page, dialogs, errors } = await signedIn(PERMISSIONS.ADMINISTRATOR);
    await page.goto(new URL(`/transfers/${id}`, page.url()).href);
    // Let a live update redraw the card too.
    await page.waitForTimeout(1_200);
    expect(await page.textContent('[data-field="note"]')).toContain(HOSTILE);
    expect(await page.$$('img')).toHaveLength(0);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('GIVEN all of the above THEN the bot logged no unexpected error', () => {
    expect(unexpectedErrors(fx.bot, [/^transfer_error$/])).toEqual([]);
  });

  it('GIVEN a complete transfer named with spaces, unicode and quotes THEN its card gives a download link, and the browser saves the file under its own name with its bytes', async () => {
    const name = 'my "holiday" — été 2026.mkv';
    const sha256 = await writeSeededFile(path.join(fx.filesRoot, name), 2 * MIB, 4);
    const id = await fx.split(name, { chunkSizeMiB: 1, permissions: PERMISSIONS.ADMINISTRATOR });
    await fx.waitForStatus(id, ['complete']);
    const context = await browser.newContext({ acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    const { link } = await dashboardLink(fx, { permissions: PERMISSIONS.ADMINISTRATOR });
    await page.goto(link!);
    const card = `article[data-id="${id}"]`;
    await page.click(`${card} button[data-field="share"]`);
    await page.waitForSelector(`${card} a[data-field="download"]:not([hidden])`, { timeout: 5_000 });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.click(`${card} a[data-field="download"]`)]);
    // Chromium itself turns quotes into `_` in names it saves under (they are not allowed on every system); the rest is the file's own name.
    expect(download.suggestedFilename()).toBe(name.replaceAll('"', '_'));
    const saved = await download.path();
    expect(sha256Of(await readFile(saved))).toBe(sha256);
  });

  it('GIVEN a signed-in page WHEN Sign out is clicked THEN the browser holds no session cookie and the page says it is signed out', async () => {
    const { page, errors } = await signedIn(PERMISSIONS.MEMBER);
    expect((await page.context().cookies()).map((c) => [c.name, c.secure, c.path])).toEqual([['__Host-dfs_session', true, '/']]);
    await Promise.all([page.waitForURL(/\/signout$/, { timeout: 10_000 }), page.click('header form.sign-out button')]);
    expect(await page.textContent('h1')).toBe('Signed out');
    expect(await page.context().cookies()).toEqual([]);
    expect((await page.goto(new URL('/', page.url()).href))?.status()).toBe(401);
    expect(errors).toEqual([]);
  });

  it('GIVEN an open page WHEN the bot restarts THEN the page says the session ended and how to get a new link', async () => {
    const { page } = await signedIn(PERMISSIONS.ADMINISTRATOR);
    await fx.restartBot();
    await page.waitForFunction(() => /session has ended.*\/dashboard/.test(document.getElementById('notice')?.textContent ?? ''), null, {
      timeout: 20_000,
    });
    expect(await page.isVisible('#notice')).toBe(true);
  });
});

describe.skipIf(skip !== null)('the part map of a large transfer', () => {
  const PARTS = 5_000;
  let fx: BotFixture;
  let browser: Browser;
  let id: string;

  beforeAll(async () => {
    // A transfer of 5,000 recorded parts, written before the bot starts (posting them would take minutes).
    const dir = await tempDirForFile('dfs-bigmap-');
    const progressPath = path.join(dir, 'transfer_progress.json');
    const store = await FileStore.open(progressPath, { lock: false });
    const t = await store.create({
      id: 'upload_bigmap5000',
      source: { kind: 'file', path: 'big.bin', real_path: path.join(dir, 'big.bin'), size: PARTS * 1000, mtime_ms: 0 },
      file_name: 'big.bin',
      file_size: PARTS * 1000,
      chunk_size_bytes: 1000,
      total_chunks: PARTS,
      owner_id: fx0Owner,
      channel_id: '1'.repeat(18),
      guild_id: null,
    });
    id = t.id;
    await store.update(id, (d) => {
      d.status = 'in_progress';
    });
    await store.update(id, (d) => {
      for (let i = 0; i < PARTS - 10; i++) {
        d.parts.push({
          index: i,
          name: `big.bin.part${String(i + 1).padStart(4, '0')}`,
          offset: i * 1000,
          size: 1000,
          sha256: '0'.repeat(64),
          message_id: '2'.repeat(18),
          attachment_id: '3'.repeat(18),
        });
        d.completed_chunks.push(i);
        d.chunk_attempts[String(i)] = i % 97 === 0 ? 3 : 1;
      }
      d.bytes_done = (PARTS - 10) * 1000;
      d.status = 'interrupted';
    });
    await store.close();
    fx = await startBotFixture({ progressPath, env: { WEB_PORT: String(await freePort()), AUTO_RESUME: 'false' } });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await fx?.stop();
  });

  it('GIVEN a transfer of 5,000 parts THEN its page draws one cell per part, and pointing at the last cell names part 5000', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const { link } = await dashboardLink(fx, { permissions: PERMISSIONS.ADMINISTRATOR, user: { id: fx0Owner, username: 'owner' } });
    await page.goto(link!);
    await page.goto(new URL(`/transfers/${id}`, page.url()).href);
    expect((await page.getAttribute('#part-map', 'data-parts'))?.length).toBe(PARTS);
    expect(await page.textContent('[data-field="map-summary"]')).toBe(`${PARTS - 10} of ${PARTS} posted`);
    const box = (await page.locator('#part-map').boundingBox())!;
    expect(box.height).toBeGreaterThan(20);
    expect(box.height).toBeLessThan(700);
    await page.mouse.move(box.x + 1, box.y + 1);
    expect(await page.textContent('#part-info')).toBe('part 1: posted after 3 attempts');
    // The last cell, where the script drew it (its cell size and columns are on the canvas).
    const grid = await page.evaluate(() => {
      const canvas = document.getElementById('part-map') as unknown as { width: number; dataset: { cell: string; columns: string } };
      return { width: canvas.width, cell: Number(canvas.dataset.cell), columns: Number(canvas.dataset.columns) };
    });
    const scale = box.width / grid.width;
    const last = PARTS - 1;
    await page.mouse.move(
      box.x + ((last % grid.columns) + 0.5) * grid.cell * scale,
      box.y + (Math.floor(last / grid.columns) + 0.5) * grid.cell * scale,
    );
    expect(await page.textContent('#part-info')).toBe(`part ${PARTS}: not yet posted`);
    await page.screenshot({ path: path.join(await artifactsDir(), 'transfer-5000-parts.png'), fullPage: true });
    await context.close();
  });
});
