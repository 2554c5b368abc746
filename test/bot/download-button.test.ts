/**
 * The Download button (README, 'Download links'): with the web page on, a complete transfer's
 * progress message ends with a "Download" link button to a download link valid AUTO_SHARE_HOURS;
 * the bot as its own process against the fake Discord, the button read from the fake's message.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { libraryDecrypt, newIdentity } from '../support/age.js';
import { waitUntil } from '../support/held.js';
import { freePort } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';
import { sha256 as sha } from '../support/hash.js';
import { tempDir } from '../support/temp.js';
import { MIB } from '../support/units.js';

const SECRET = 'download-button-secret-0123456789abcdef';
const EDIT = 'PATCH /channels/:id/messages/:mid';

interface LinkButton {
  type: number;
  style: number;
  label: string;
  url: string;
}

/** The progress message's components as the fake keeps them. */
function componentsOf(fx: BotFixture, messageId: string | null): unknown[] | undefined {
  return fx.fake.messages().find((m) => m.id === messageId)?.components;
}

/** The one Download button of a progress message, once it is there. */
async function buttonOf(fx: BotFixture, messageId: string | null): Promise<LinkButton> {
  await waitUntil(() => (componentsOf(fx, messageId)?.length ?? 0) > 0, 'the Download button');
  const rows = componentsOf(fx, messageId) as { type: number; components: LinkButton[] }[];
  expect(rows).toHaveLength(1);
  expect(rows[0]!.type).toBe(1);
  expect(rows[0]!.components).toHaveLength(1);
  const button = rows[0]!.components[0]!;
  expect(button).toMatchObject({ type: 2, style: 5, label: 'Download' });
  expect(button.url.length).toBeLessThanOrEqual(512);
  return button;
}

/** A /split to its end; the record. */
async function splitToEnd(fx: BotFixture, name: string, size: number, seed: number, options: { name: string; type: number; value: string }[] = []) {
  await writeSeededFile(path.join(fx.filesRoot, name), size, seed);
  const id = await fx.split(name, { chunkSizeMiB: 1, permissions: PERMISSIONS.ADMINISTRATOR, options });
  const t = await fx.waitForStatus(id, ['complete', 'error']);
  expect(t.status, t.notes.join('; ')).toBe('complete');
  return t;
}

/** Polls the record until its end-state edit is recorded as landed (bounded). */
async function landed(fx: BotFixture, id: string): Promise<boolean> {
  for (let i = 0; i < 400; i++) {
    if ((await fx.transfer(id)).progress_edit_landed) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

const body = async (res: Response) => Buffer.from(await res.arrayBuffer());

describe('GIVEN the web page on', () => {
  let fx: BotFixture;

  beforeAll(async () => {
    fx = await startBotFixture({ env: { WEB_PORT: String(await freePort()), WEB_SECRET: SECRET, MAX_ACTIVE_TRANSFERS: '10' } });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('WHEN a /split completes THEN its progress message ends with one Download link button whose link gives the whole file', async () => {
    const t = await splitToEnd(fx, 'whole.bin', 3 * MIB + 7, 41);
    const button = await buttonOf(fx, t.progress_message_id);
    expect(button.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/d\/[\w-]+\.[\w-]+\/whole\.bin$/);
    const res = await fetch(button.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename=whole.bin');
    expect(sha(await body(res))).toBe(sha(await readFile(path.join(fx.filesRoot, 'whole.bin'))));
    expect(fx.fake.messages().find((m) => m.id === t.progress_message_id)?.content).toMatch(/✅ complete/);
  });

  it('WHEN the name would make the link longer than a button takes (512) THEN the link leaves the name out of its path and the file still comes under its name', async () => {
    const name = `${'é'.repeat(100)}.bin`;
    const t = await splitToEnd(fx, name, 1 * MIB, 42);
    const button = await buttonOf(fx, t.progress_message_id);
    expect(button.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/d\/[\w-]+\.[\w-]+$/);
    const res = await fetch(button.url);
    expect(res.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent(name)}`);
    expect(sha(await body(res))).toBe(t.file_sha256);
  });

  it('WHEN an encrypted transfer completes THEN its button serves the age file as posted, under <name>.age, and a recipient decrypts it', async () => {
    const key = await newIdentity(await tempDir());
    const t = await splitToEnd(fx, 'sealed.bin', 2 * MIB + 3, 43, [{ name: 'recipient', type: 3, value: key.recipient }]);
    const button = await buttonOf(fx, t.progress_message_id);
    expect(decodeURIComponent(button.url.split('/').at(-1)!)).toBe('sealed.bin.age');
    const res = await fetch(button.url);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename=sealed.bin.age');
    const bytes = await body(res);
    expect(sha(bytes)).toBe(t.file_sha256);
    expect((await libraryDecrypt(bytes, key.secret)).equals(await readFile(path.join(fx.filesRoot, 'sealed.bin')))).toBe(true);
  });

  it('WHEN /share revoke:true THEN the button’s link is refused as a revoked link is, and the button is taken off the message', async () => {
    const t = await splitToEnd(fx, 'revoked.bin', 1 * MIB, 44);
    const button = await buttonOf(fx, t.progress_message_id);
    expect((await fetch(button.url, { method: 'HEAD' })).status).toBe(200);
    const handle = await fx.command({
      name: 'share',
      permissions: PERMISSIONS.ADMINISTRATOR,
      options: [
        { name: 'transfer', type: 3, value: t.id },
        { name: 'revoke', type: 5, value: true },
      ],
    });
    await handle.waitFor((h) => /stopped working/.test(h.original()?.content ?? ''), 5_000);
    expect((await fetch(button.url, { method: 'HEAD' })).status).toBe(404);
    await waitUntil(() => componentsOf(fx, t.progress_message_id)?.length === 0, 'the button taken off');
    expect(fx.fake.messages().find((m) => m.id === t.progress_message_id)?.content).toMatch(/✅ complete/);
    expect(await landed(fx, t.id)).toBe(true);
  });

  it('GIVEN all of the above THEN no log line holds a download link or its token, and nothing unexpected was logged', () => {
    const stdout = fx.bot.stdout();
    expect(stdout).not.toMatch(/eyJ[\w-]{4,}\.[\w-]{43}/);
    expect(stdout).not.toMatch(/\/d\/[\w-]+\.[\w-]+/);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});

describe('GIVEN the web page off, then on', () => {
  let fx: BotFixture;
  const web = { WEB_PORT: '', WEB_SECRET: SECRET };

  beforeAll(async () => {
    fx = await startBotFixture({ env: { RETRY_LIMIT_PER_CHUNK: '2' } });
    web.WEB_PORT = String(await freePort());
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('WHEN a /split completes without the web page THEN its progress message has no button', async () => {
    const t = await splitToEnd(fx, 'off.bin', 1 * MIB, 51);
    await waitUntil(() => /✅ complete/.test(fx.fake.messages().find((m) => m.id === t.progress_message_id)?.content ?? ''), 'the end state');
    expect(componentsOf(fx, t.progress_message_id)).toEqual([]);
  });

  it('WHEN the end-state edit never landed THEN the next start makes it, with the button', { timeout: 150_000 }, async () => {
    await fx.restartBot(web);
    fx.fake.faults.add({ route: EDIT, kind: 'status', status: 500, times: 1_000_000 });
    const t = await splitToEnd(fx, 'missed.bin', 1 * MIB, 52);
    await waitUntil(
      () => fx.bot.logs.some((l) => /could not show the end state/.test(l.msg) && l.transfer_id === t.id),
      'the final edit given up',
      90_000,
    );
    expect(componentsOf(fx, t.progress_message_id)).toEqual([]);
    // The refused edits carried the button: their failures are logged without its link.
    expect(fx.fake.requests.filter((r) => r.route === EDIT && r.status === 500).length).toBeGreaterThan(0);
    expect(fx.bot.stdout()).not.toMatch(/eyJ[\w-]{4,}\.[\w-]{43}/);
    expect(fx.bot.stdout()).not.toMatch(/\/d\/[\w-]+\.[\w-]+/);
    fx.fake.faults.clear();
    await fx.restartBot(web);
    const button = await buttonOf(fx, t.progress_message_id);
    expect(fx.fake.messages().find((m) => m.id === t.progress_message_id)?.content).toMatch(/✅ complete/);
    expect(sha(await body(await fetch(button.url)))).toBe(t.file_sha256);
    expect(await landed(fx, t.id)).toBe(true);
  });

  it('WHEN AUTO_SHARE_HOURS=0 THEN a complete transfer gets no button', async () => {
    await fx.restartBot({ ...web, AUTO_SHARE_HOURS: '0' });
    const t = await splitToEnd(fx, 'zero.bin', 1 * MIB, 53);
    await waitUntil(() => /✅ complete/.test(fx.fake.messages().find((m) => m.id === t.progress_message_id)?.content ?? ''), 'the end state');
    expect(componentsOf(fx, t.progress_message_id)).toEqual([]);
  });
});
