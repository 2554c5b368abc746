/**
 * A sign-in link opens one session, ever: also after a restart of the bot with the same
 * WEB_SECRET (the used links are recorded beside the progress file), and also when the same
 * link is opened twice at the same instant. The bot runs as its own process against the fake
 * Discord.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { freePort } from '../support/ports.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';
import { dashboardLink, signIn } from '../support/web.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';

let fx: BotFixture | undefined;
let tmpfs: Tmpfs | undefined;
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
  await tmpfs?.unmount();
  tmpfs = undefined;
});

async function startWithWeb(progressPath?: string): Promise<{ fx: BotFixture; base: string }> {
  const port = await freePort();
  fx = await startBotFixture({ env: { WEB_PORT: String(port), WEB_SECRET: SECRET }, ...(progressPath ? { progressPath } : {}) });
  return { fx, base: `http://127.0.0.1:${port}` };
}

async function newLink(bot: BotFixture): Promise<string> {
  const { link } = await dashboardLink(bot, { permissions: PERMISSIONS.MEMBER });
  expect(link).not.toBeNull();
  return link!;
}

describe('a sign-in link is usable once', () => {
  it(
    'GIVEN a link that was used WHEN the bot restarts with the same WEB_SECRET THEN the link is refused, and a fresh link still signs in',
    { timeout: 90_000 },
    async () => {
      const { fx: bot, base } = await startWithWeb();
      const link = await newLink(bot);
      const first = await signIn(link);
      expect(first.status).toBe(303);
      expect((await fetch(`${base}/`, { headers: { cookie: first.cookie! } })).status).toBe(200);

      await bot.restartBot();
      const again = await signIn(link);
      expect(again.status).toBe(401);
      expect(again.setCookie).toBeNull();

      const fresh = await signIn(await newLink(bot));
      expect(fresh.status).toBe(303);
      expect((await fetch(`${base}/`, { headers: { cookie: fresh.cookie! } })).status).toBe(200);
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );

  it('GIVEN one link opened twice at the same instant THEN exactly one of them signs in', { timeout: 60_000 }, async () => {
    const { fx: bot } = await startWithWeb();
    const link = await newLink(bot);
    const answers = await Promise.all([signIn(link), signIn(link)]);
    expect(answers.map((a) => a.status).sort()).toEqual([303, 401]);
    expect(answers.filter((a) => a.setCookie !== null)).toHaveLength(1);
  });

  it(
    'GIVEN a disk that refuses the record of used links WHEN a link is opened THEN 503 saying to try again (no path), and once the disk allows the same link signs in',
    { timeout: 60_000 },
    async (ctx) => {
      const mounted = await mountTmpfs(1024 * 1024);
      if ('skip' in mounted) ctx.skip(mounted.skip);
      const disk = mounted as Tmpfs;
      tmpfs = disk;
      const { fx: bot } = await startWithWeb(path.join(disk.dir, 'transfer_progress.json'));
      const link = await newLink(bot);
      await disk.fill();
      const refused = await fetch(link, { redirect: 'manual' });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('set-cookie')).toBeNull();
      const page = await refused.text();
      expect(page).toMatch(/cannot record sign-ins right now/);
      expect(page).not.toContain(disk.dir);
      expect(bot.bot.logs.some((l) => l.event === 'sign_in_unrecorded')).toBe(true);

      await rm(path.join(disk.dir, 'filler'));
      expect((await signIn(link)).status).toBe(303);
      expect((await signIn(link)).status).toBe(401);
      expect(unexpectedErrors(bot.bot)).toEqual([]);
    },
  );
});
