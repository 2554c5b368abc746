/**
 * A sign-in link opens one session, ever: also after a restart of the bot with the same
 * WEB_SECRET (the used links are recorded beside the progress file), and also when the same
 * link is opened twice at the same instant. The bot runs as its own process against the fake
 * Discord.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { freePort } from '../support/ports.js';
import { dashboardLink, signIn } from '../support/web.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';

let fx: BotFixture | undefined;
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
});

async function startWithWeb(): Promise<{ fx: BotFixture; base: string }> {
  const port = await freePort();
  fx = await startBotFixture({ env: { WEB_PORT: String(port), WEB_SECRET: SECRET } });
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
});
