/**
 * A file sent from a member's computer as people follow it and act on it: "waiting for the
 * sender" in /status, on the web page and in the progress message while no bytes come; /cancel
 * and /resume of a send; a graceful stop and a start again, with and without AUTO_RESUME. The
 * bot runs as its own process against the fake Discord; the test is the sender, with plain
 * tus requests, so it decides when bytes come.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { sha256File } from '../support/hash.js';
import { heldAnswer, waitUntil } from '../support/held.js';
import { freePort } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';
import { redeem, sendLink } from '../support/send.js';
import { dashboardLink, signIn } from '../support/web.js';
import { MIB } from '../support/units.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';
const WAITING = 'waiting for the sender';
const MESSAGE_CREATE = 'POST /channels/:id/messages';

let fx: BotFixture | undefined;
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
});

/** One part a message: a part is confirmed as soon as its bytes came, not once its message's others have. */
async function startWithWeb(env: Record<string, string> = {}): Promise<BotFixture> {
  fx = await startBotFixture({ env: { WEB_PORT: String(await freePort()), WEB_SECRET: SECRET, MAX_CHUNKS_PER_MESSAGE: '1', ...env } });
  return fx;
}

/** The sender: a file, its grant, and plain tus requests, so the test decides when bytes come. */
interface Sender {
  file: Buffer;
  path: string;
  grant: string;
  url: string;
  id: string;
}

async function startSending(bot: BotFixture, size: number): Promise<Sender> {
  const file = path.join(bot.work, 'home', 'film.mkv');
  await mkdir(path.dirname(file), { recursive: true });
  await writeSeededFile(file, size, 7);
  const { link } = await sendLink(bot, { options: [{ name: 'chunk_size', type: 4, value: 1 }] });
  const { grant, files } = await redeem(link!);
  const res = await fetch(files!, {
    method: 'POST',
    headers: tusHeaders(grant!, { 'Upload-Length': String(size), 'Upload-Metadata': `filename ${Buffer.from('film.mkv').toString('base64')}` }),
  });
  await res.arrayBuffer();
  expect(res.status).toBe(201);
  const url = new URL(res.headers.get('location')!, files!).href;
  return { file: await readFile(file), path: file, grant: grant!, url, id: url.split('/').pop()! };
}

function tusHeaders(grant: string, extra: Record<string, string> = {}): Record<string, string> {
  return { Authorization: `Bearer ${grant}`, 'Tus-Resumable': '1.0.0', ...extra };
}

/** PATCHes the file's bytes [from, to); the answer's status, offset and text. */
async function patch(s: Sender, from: number, to: number): Promise<{ status: number; offset: number | null; text: string }> {
  const res = await fetch(s.url, {
    method: 'PATCH',
    headers: tusHeaders(s.grant, { 'Upload-Offset': String(from), 'Content-Type': 'application/offset+octet-stream' }),
    body: s.file.subarray(from, to),
  });
  const offset = res.headers.get('upload-offset');
  return { status: res.status, offset: offset === null ? null : Number(offset), text: await res.text() };
}

/** HEAD: the offset the bot reports. */
async function offsetOf(s: Sender): Promise<number> {
  const res = await fetch(s.url, { method: 'HEAD', headers: tusHeaders(s.grant) });
  expect(res.status).toBe(200);
  return Number(res.headers.get('upload-offset'));
}

/** `/status` (of one transfer, or the list) as the member; the reply's text. */
async function status(bot: BotFixture, id?: string): Promise<string> {
  const handle = await bot.command({
    name: 'status',
    permissions: PERMISSIONS.ADMINISTRATOR,
    options: id === undefined ? [] : [{ name: 'transfer', type: 3, value: id }],
  });
  await handle.waitFor((h) => Boolean(h.original()?.content), 5_000);
  return handle.original()?.content ?? '';
}

/** The transfer's progress message in the fake, as it reads now. */
async function progressMessage(bot: BotFixture, id: string): Promise<{ content: string; edits: number }> {
  const messageId = (await bot.transfer(id)).progress_message_id;
  const message = bot.fake.messages().find((m) => m.id === messageId);
  return { content: message?.content ?? '', edits: message?.edits ?? 0 };
}

async function waitForWaiting(bot: BotFixture, id: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if ((await progressMessage(bot, id).catch(() => ({ content: '' }))).content.includes(WAITING)) return;
    if (Date.now() > deadline) throw new Error(`the progress message of ${id} never said "${WAITING}"`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Parts in the channel (the manifest's message aside). */
async function postedParts(bot: BotFixture, id: string): Promise<number> {
  const manifest = (await bot.transfer(id)).manifest_message_id;
  return bot.fake
    .messages()
    .filter((m) => !m.deleted && m.id !== manifest)
    .reduce((n, m) => n + m.attachments.length, 0);
}

/** Waits until `count` parts of the transfer are confirmed. */
async function waitForParts(bot: BotFixture, id: string, count: number): Promise<void> {
  expect((await bot.waitForParts(id, count)).completed_chunks.length).toBeGreaterThanOrEqual(count);
}

describe('a send as people follow it', () => {
  it(
    'GIVEN an upload whose sender stops mid-file THEN /status, the web page and the progress message say "waiting for the sender" (status in_progress) until the bytes come',
    { timeout: 90_000 },
    async () => {
      const bot = await startWithWeb();
      const s = await startSending(bot, 3 * MIB + 5000);
      expect(await patch(s, 0, 1.5 * MIB)).toMatchObject({ status: 204, offset: 1.5 * MIB });
      await waitForParts(bot, s.id, 1);
      await waitForWaiting(bot, s.id);
      const shown = await progressMessage(bot, s.id);
      expect(shown.content).toContain(`⏳ ${WAITING}`);
      expect(shown.content).not.toMatch(/ETA/);

      const detail = await status(bot, s.id);
      expect(detail).toContain(`**in_progress** · ${WAITING}`);
      expect(detail).toContain(`sent from <@${bot.fake.defaultUser.id}>'s computer · received 1.50 MiB of 3.00 MiB`);
      expect(await status(bot)).toContain(`${s.id}\` film.mkv · in_progress (${WAITING})`);

      const { link } = await dashboardLink(bot);
      const { cookie } = await signIn(link!);
      const base = new URL(link!).origin;
      const page = await fetch(`${base}/transfers/${s.id}`, { headers: { cookie: cookie! } });
      expect(await page.text()).toContain(`data-field="status">in_progress · ${WAITING}</span>`);
      // What the page's live updates draw from.
      const events = await fetch(`${base}/transfers/${s.id}/events`, { headers: { cookie: cookie! } });
      const reader = events.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
      expect(first).toContain('"waitingForSender":true');
      expect((await bot.transfer(s.id)).status).toBe('in_progress');

      // Waiting changes nothing else: the message is not edited again while nothing comes.
      const edits = (await progressMessage(bot, s.id)).edits;
      expect(await status(bot, s.id)).toContain(WAITING);
      expect((await progressMessage(bot, s.id)).edits).toBe(edits);

      expect(await patch(s, 1.5 * MIB, s.file.length)).toMatchObject({ status: 204, offset: s.file.length });
      const t = await bot.waitForStatus(s.id, ['complete', 'error', 'cancelled']);
      expect(t.status).toBe('complete');
      expect(t.file_sha256).toBe(await sha256File(s.path));
      await waitUntil(() => !bot.fake.messages().some((m) => m.content.includes(WAITING)), 'the progress message showing the end');
      expect(await status(bot, s.id)).toContain(`received 3.00 MiB of 3.00 MiB`);
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );
});

/**
 * A send whose second part Discord refuses past the retry limit: the first MiB goes, then the
 * next 1.5 MiB arrive while every message fails, and the transfer ends error. `beforeFailing`
 * runs just before the failures start.
 */
async function failedSend(beforeFailing?: (bot: BotFixture) => void): Promise<{ bot: BotFixture; s: Sender }> {
  const bot = await startWithWeb({ RETRY_LIMIT_PER_CHUNK: '1' });
  const s = await startSending(bot, 4 * MIB + 10);
  let failing = false;
  bot.fake.faults.add({
    route: (r) => failing && r.route === MESSAGE_CREATE,
    kind: 'status',
    status: 500,
    body: { message: 'Internal Server Error', code: 0 },
    times: 100_000,
  });
  expect(await patch(s, 0, MIB)).toMatchObject({ status: 204 });
  await waitForParts(bot, s.id, 1);
  beforeFailing?.(bot);
  failing = true;
  expect(await patch(s, MIB, 2.5 * MIB)).toMatchObject({ status: 204 });
  const failed = await bot.waitForStatus(s.id, ['error', 'complete', 'cancelled']);
  expect(failed.status).toBe('error');
  failing = false;
  return { bot, s };
}

/** /resume of `id`, once the bot has answered it. */
async function resumed(bot: BotFixture, id: string): Promise<void> {
  const handle = await bot.command({ name: 'resume', permissions: PERMISSIONS.ADMINISTRATOR, options: [{ name: 'transfer', type: 3, value: id }] });
  await handle.waitFor((h) => /Resuming/.test(h.original()?.content ?? ''), 5_000);
}

/** The resumed send completes with the sender's file, each part posted once. */
async function completesAfterResume(bot: BotFixture, s: Sender): Promise<void> {
  // The record says error until the resumed run starts (a failed run still settling starts it once settled).
  await bot.bot.waitForLog((l) => l.msg === 'transfer_started' && l.transfer_id === s.id && l.resumed === true);
  const t = await bot.waitForStatus(s.id, ['complete', 'error', 'cancelled']);
  expect(t.status, t.notes.join('; ')).toBe('complete');
  expect(t.file_sha256).toBe(await sha256File(s.path));
  expect(await postedParts(bot, s.id)).toBe(t.total_chunks);
  expect(unexpectedErrors(bot.bot, [/^transfer_error$/])).toEqual([]);
}

describe('a send cancelled, failed, stopped', () => {
  it(
    'GIVEN an upload in progress WHEN its owner runs /cancel delete_posted THEN the next PATCH is 410 with the note, the staging folder is gone and the posted parts are deleted',
    { timeout: 90_000 },
    async () => {
      const bot = await startWithWeb();
      const s = await startSending(bot, 4 * MIB);
      expect(await patch(s, 0, 2.5 * MIB)).toMatchObject({ status: 204 });
      await waitForParts(bot, s.id, 2);
      const folder = path.join(bot.work, 'staging', s.id);
      expect((await stat(folder)).isDirectory()).toBe(true);

      const handle = await bot.command({
        name: 'cancel',
        permissions: PERMISSIONS.ADMINISTRATOR,
        options: [
          { name: 'transfer', type: 3, value: s.id },
          { name: 'delete_posted', type: 5, value: true },
        ],
      });
      await handle.waitFor((h) => /Deleted \d+ part/.test(h.original()?.content ?? ''), 20_000);
      const t = await bot.waitForStatus(s.id, ['cancelled']);
      expect(await postedParts(bot, s.id)).toBe(0);
      expect(t.notes.join('\n')).toMatch(/deleted 2 posted part message/);

      const refused = await patch(s, 2.5 * MIB, 4 * MIB);
      expect(refused.status).toBe(410);
      expect(refused.text).toMatch(/This upload was cancelled: /);
      await expect(stat(folder)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );

  it(
    'GIVEN a send that ended error (Discord refused a part past the retry limit) WHEN the sender goes on THEN 409 asks for /resume; after /resume the sender goes on and it completes, no part posted twice',
    { timeout: 90_000 },
    async () => {
      const { bot, s } = await failedSend();

      const refused = await patch(s, 2.5 * MIB, s.file.length);
      expect(refused.status).toBe(409);
      expect(refused.text).toContain(`/resume transfer:${s.id}`);

      await resumed(bot, s.id);
      const offset = await offsetOf(s);
      expect(offset).toBe(2.5 * MIB);
      expect(await patch(s, offset, s.file.length)).toMatchObject({ status: 204, offset: s.file.length });
      await completesAfterResume(bot, s);
    },
  );

  it(
    'GIVEN a send that ended error and is still settling (its thread archive held) WHEN /resume is answered and the sender goes on at once THEN the bytes are taken and it completes, no part posted twice',
    { timeout: 90_000 },
    async () => {
      // The failed run's end: its thread's archive waits until the test lets it go.
      const archive = heldAnswer();
      const { bot, s } = await failedSend((fx) => fx.fake.faults.add({ route: 'PATCH /channels/:id', kind: 'hold', until: archive.hold, times: 1 }));

      await resumed(bot, s.id);
      const taken = patch(s, 2.5 * MIB, s.file.length);
      archive.release();
      expect(await taken).toMatchObject({ status: 204, offset: s.file.length });
      await completesAfterResume(bot, s);
    },
  );

  it(
    'GIVEN a send stopped by SIGTERM WHEN the bot starts again with AUTO_RESUME=false THEN it stays interrupted until the sender goes on, and then completes',
    { timeout: 120_000 },
    async () => {
      const bot = await startWithWeb();
      const s = await startSending(bot, 3 * MIB + 77);
      expect(await patch(s, 0, 1.5 * MIB)).toMatchObject({ status: 204 });
      await waitForParts(bot, s.id, 1);
      await bot.bot.kill('SIGTERM');
      expect((await bot.transfer(s.id)).status).toBe('interrupted');
      await bot.restartBot({ AUTO_RESUME: 'false' });
      expect((await bot.transfer(s.id)).status).toBe('interrupted');
      expect(await status(bot, s.id)).not.toContain(WAITING);

      const offset = await offsetOf(s);
      expect(offset).toBe(1.5 * MIB);
      expect(await patch(s, offset, s.file.length)).toMatchObject({ status: 204, offset: s.file.length });
      const t = await bot.waitForStatus(s.id, ['complete', 'error', 'cancelled']);
      expect(t.status).toBe('complete');
      expect(t.file_sha256).toBe(await sha256File(s.path));
      expect(await postedParts(bot, s.id)).toBe(t.total_chunks);
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );

  it(
    'GIVEN a send stopped by SIGTERM WHEN the bot starts again with AUTO_RESUME=true THEN its run starts and waits for the sender, and completes when the bytes come',
    { timeout: 120_000 },
    async () => {
      const bot = await startWithWeb();
      const s = await startSending(bot, 3 * MIB + 77);
      expect(await patch(s, 0, 1.5 * MIB)).toMatchObject({ status: 204 });
      await waitForParts(bot, s.id, 1);
      await bot.bot.kill('SIGTERM');
      await bot.restartBot({ AUTO_RESUME: 'true' });
      await bot.waitForStatus(s.id, ['in_progress']);
      await waitForWaiting(bot, s.id);
      expect(await status(bot, s.id)).toContain(`**in_progress** · ${WAITING}`);

      const offset = await offsetOf(s);
      expect(await patch(s, offset, s.file.length)).toMatchObject({ status: 204, offset: s.file.length });
      const t = await bot.waitForStatus(s.id, ['complete', 'error', 'cancelled']);
      expect(t.status).toBe('complete');
      expect(t.file_sha256).toBe(await sha256File(s.path));
      expect(await postedParts(bot, s.id)).toBe(t.total_chunks);
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );
});
