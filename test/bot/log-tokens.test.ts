/**
 * A reply to Discord that fails (the 3 s deadline missed is enough) must not put the reply or
 * the interaction's token in the log: discord.js's error carries both (its request body and
 * URL). The log still says what failed: status, Discord's code, route with the token replaced.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import type { LogLine } from '../support/bot-process.js';
import { freePort } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';

const CALLBACK = 'POST /interactions/:id/:token/callback';
/** The bot's signed link tokens (sign-in, download): base64url JSON, a dot, an HMAC-SHA256. */
const SIGNED_TOKEN = /eyJ[\w-]{4,}\.[\w-]{43}/;

describe('a failed reply in the log', () => {
  let fx: BotFixture;
  beforeAll(async () => {
    fx = await startBotFixture({
      env: { WEB_PORT: String(await freePort()), WEB_SECRET: 'log-tokens-test-secret-0123456789', MAX_CHUNKS_PER_MESSAGE: '1' },
    });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  /** Sends `input`, waits until the bot gave up telling the user, and checks the log holds no token; the `command failed` line. */
  async function failedReply(input: Parameters<BotFixture['fake']['sendInteraction']>[0]): Promise<{ line: LogLine; interactionId: string }> {
    const before = fx.bot.logs.length;
    const handle = await fx.fake.sendInteraction(input);
    await fx.bot.waitForLog((l) => l.msg === 'could not tell the user about an error' && fx.bot.logs.indexOf(l) >= before, 20_000);
    expect(fx.fake.requests.some((r) => r.route === CALLBACK && r.path.includes(handle.token))).toBe(true);
    // Its secret part, which a URL carries percent-encoded.
    const interactionToken = handle.token.split(':').at(-1)!;
    expect(interactionToken.length).toBeGreaterThan(16);

    const stdout = fx.bot.stdout();
    expect(stdout, 'the interaction token is in the log').not.toContain(interactionToken);
    expect(stdout, 'a link token is in the log').not.toMatch(SIGNED_TOKEN);
    expect(stdout).not.toContain('requestBody');
    expect(stdout).not.toMatch(/sign-in link|anyone with it can download/);
    const line = fx.bot.logs.slice(before).find((l) => l.msg === 'command failed');
    expect(line, 'the failure is logged').toBeDefined();
    return { line: line!, interactionId: handle.id };
  }

  it('GIVEN /dashboard WHEN Discord answers its reply 404 Unknown interaction THEN the log says 404, 10062 and the route, without the sign-in link or the interaction token', async () => {
    fx.fake.faults.add({ route: CALLBACK, kind: 'status', status: 404, body: { message: 'Unknown interaction', code: 10062 }, times: 2 });
    const { line, interactionId } = await failedReply({ name: 'dashboard' });
    expect(line['err']).toMatchObject({
      type: 'DiscordAPIError',
      status: 404,
      code: 10062,
      method: 'POST',
      route: `/interactions/${interactionId}/:token/callback`,
    });
  });

  it('GIVEN /share of a complete transfer WHEN Discord answers its reply 500 THEN the log says 500 and the route, without the download link or the interaction token', async () => {
    await writeSeededFile(path.join(fx.filesRoot, 'shared.bin'), 300_000, 3);
    const id = await fx.split('shared.bin');
    expect((await fx.waitForStatus(id, ['complete', 'error'])).status).toBe('complete');
    // discord.js tries a 500 four times, for the reply and again for the apology.
    fx.fake.faults.add({ route: CALLBACK, kind: 'status', status: 500, times: 8 });
    const { line, interactionId } = await failedReply({
      name: 'share',
      permissions: PERMISSIONS.ADMINISTRATOR,
      options: [{ name: 'transfer', type: 3, value: id }],
    });
    expect(line['err']).toMatchObject({ type: 'HTTPError', status: 500, method: 'POST', route: `/interactions/${interactionId}/:token/callback` });
  });
});
