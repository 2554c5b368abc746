/**
 * The send page in a real browser, for its tests: a bot that takes uploads, `/send`'s link
 * opened in a page, a file picked, and what the page and the bot say of the upload.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startBotFixture, type BotFixture } from './bot-fixture.js';
import type { RecordedRequest } from './fake-discord/types.js';
import { freePort } from './ports.js';
import { sendLink } from './send.js';
import { MIB } from './units.js';
import { waitUntil } from './held.js';

const SEND_SECRET = 'send-browser-secret-0123456789abcdef';
/** The part size of the browser tests: few parts of a 64 MiB file, so few messages to hold. */
export const PART = 8 * MIB;

/** The page's DOM inside page.waitForFunction callbacks: the project's tsconfig has no DOM lib. */
declare const document: { body: { dataset: Record<string, string | undefined> }; getElementById(id: string): { hidden: boolean } | null };

/**
 * A bot taking uploads. STAGING_PER_UPLOAD_BYTES is three parts (the engine reads a part
 * ahead of the one it posts): with Discord's answers held, the upload stops a few parts past
 * the last confirmed one, mid-file, until the test lets it go.
 */
export async function startSendBot(env: Record<string, string> = {}): Promise<BotFixture> {
  const port = await freePort();
  return startBotFixture({
    env: {
      WEB_PORT: String(port),
      WEB_SECRET: SEND_SECRET,
      STAGING_PER_UPLOAD_BYTES: String(3 * PART),
      // One part a message: a message of several parts would need them all staged before it completes.
      MAX_CHUNKS_PER_MESSAGE: '1',
      MAX_ACTIVE_TRANSFERS: '10',
      // A part held at the fake waits for the test, however slow the machine is.
      UPLOAD_TIMEOUT_MS: '120000',
      ...env,
    },
  });
}

/** A fresh browser context on the send page of a new `/send` link (parts of PART bytes). */
export async function openSendPage(fx: BotFixture, browser: Browser): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const { link } = await sendLink(fx, { options: [{ name: 'chunk_size', type: 4, value: PART / MIB }] });
  if (!link) throw new Error('/send gave no link');
  await page.goto(link);
  await waitForSendForm(page);
  return { context, page, errors };
}

/** Waits until the page has checked its grant and shows the file picker. */
export async function waitForSendForm(page: Page): Promise<void> {
  await page.waitForFunction(() => document.getElementById('send')?.hidden === false, null, { timeout: 15_000 });
}

/** Picks `file` in the page; resolves with the upload's (the transfer's) id once the bot made it. */
export async function pickFile(page: Page, file: string): Promise<string> {
  await page.setInputFiles('#file', file);
  const id = await page.waitForFunction(() => document.body.dataset.uploadId, null, { timeout: 30_000 });
  return (await id.jsonValue()) as string;
}

/**
 * Where an upload's staged bytes end, from its staging folder (`<offset>.part` segments). Read
 * from disk: a tus HEAD would wait for the lock of a PATCH the bot holds paused.
 */
export async function stagedOffset(fx: BotFixture, id: string): Promise<number> {
  const dir = path.join(fx.work, 'staging', id);
  let end = 0;
  for (const name of await readdir(dir)) {
    const start = /^(\d{16})\.part$/.exec(name)?.[1];
    if (start !== undefined) end = Math.max(end, Number(start) + (await stat(path.join(dir, name))).size);
  }
  return end;
}

/** Waits until a message create is held at the fake (the upload then stops mid-file). */
export async function heldAtFake(fx: BotFixture): Promise<RecordedRequest> {
  const held = () => fx.fake.pendingRequests().find((r) => r.route === 'POST /channels/:id/messages' && r.fault === 'hold');
  await waitUntil(() => held() !== undefined, 'a part message held at the fake', 60_000);
  return held()!;
}

/** Every part file name posted in the fake's channels, once per posting. */
export function postedPartNames(fx: BotFixture, fileName: string): string[] {
  return fx.fake
    .messages()
    .flatMap((m) => m.attachments.map((a) => a.filename))
    .filter((name) => name.startsWith(fileName) && name !== `${fileName}.manifest.json`);
}
