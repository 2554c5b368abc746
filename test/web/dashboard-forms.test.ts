/**
 * The dashboard's forms over plain HTTP, as a browser without its script posts them, with the
 * bot as its own process against the fake Discord: the "Download link" button within
 * SHARE_MAX_HOURS, a refused Cancel or Resume saying why, the session cookie a planted one
 * cannot shadow, and signing out.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import { freePort } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';
import { dashboardLink, signIn } from '../support/web.js';

const MIB = 1024 * 1024;
const SECRET = 'forms-test-secret-0123456789abcdefghij';
const HOUR = 3_600_000;

describe('the dashboard forms without the script', () => {
  let fx: BotFixture;
  let base: string;
  let done: string;

  beforeAll(async () => {
    const port = await freePort();
    fx = await startBotFixture({ env: { WEB_PORT: String(port), WEB_SECRET: SECRET, SHARE_MAX_HOURS: '1', MAX_CHUNKS_PER_MESSAGE: '1' } });
    base = `http://127.0.0.1:${port}`;
    await writeSeededFile(path.join(fx.filesRoot, 'done.bin'), 2 * MIB, 5);
    done = await fx.split('done.bin', { chunkSizeMiB: 1, permissions: PERMISSIONS.ADMINISTRATOR });
    expect((await fx.waitForStatus(done, ['complete', 'error'])).status).toBe('complete');
  });
  afterAll(async () => {
    await fx?.stop();
  });

  /** A session of the default member, as `name=value` for a Cookie header. */
  async function session(permissions: bigint = PERMISSIONS.ADMINISTRATOR, user?: { id: string; username: string }) {
    const { link } = await dashboardLink(fx, { permissions, ...(user ? { user } : {}) });
    const { cookie } = await signIn(link!);
    return cookie!;
  }
  const get = (route: string, cookie?: string) => fetch(`${base}${route}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  const csrfOf = async (cookie: string) => /name="dfs-csrf" content="([^"]+)"/.exec(await (await get('/', cookie)).text())?.[1] ?? '';
  /** A form post as a browser sends it without the page's script: a page back, not JSON. */
  const post = (route: string, cookie: string, fields: Record<string, string>, origin: string | null = base) =>
    fetch(`${base}${route}`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...(origin ? { origin } : {}) },
      body: new URLSearchParams(fields),
      redirect: 'manual',
    });

  it('GIVEN SHARE_MAX_HOURS=1 WHEN the dashboard makes a download link THEN the link expires within an hour', async () => {
    const cookie = await session();
    const before = Date.now();
    const res = await post(`/transfers/${done}/share`, cookie, { csrf: await csrfOf(cookie) });
    expect(res.status).toBe(200);
    const page = await res.text();
    const token = /\/d\/([\w-]+\.[\w-]+)\//.exec(page)?.[1];
    expect(token).toBeDefined();
    const claims = JSON.parse(Buffer.from(token!.split('.')[0]!, 'base64url').toString('utf8')) as { e: number };
    expect(claims.e).toBeGreaterThan(before);
    expect(claims.e).toBeLessThanOrEqual(Date.now() + HOUR);
    expect(page).toMatch(/valid 1 h \(until \d{4}-/);
    const until = /until (\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(page)?.[1];
    expect(Date.parse(until!)).toBeLessThanOrEqual(Date.now() + HOUR);
  });

  it("GIVEN a complete transfer WHEN Cancel or Resume is posted without the script THEN a 409 page says why, on the transfer's page", async () => {
    const cookie = await session();
    const csrf = await csrfOf(cookie);
    const reasons = {
      cancel: `Transfer ${done} is already complete.`,
      resume: `Transfer ${done} is complete; only interrupted or failed transfers can be resumed.`,
    };
    for (const [action, reason] of Object.entries(reasons)) {
      const res = await post(`/transfers/${done}/${action}`, cookie, { csrf });
      expect(res.status, action).toBe(409);
      expect(res.headers.get('content-type'), action).toMatch(/^text\/html/);
      const page = (await res.text()).replace(/<[^>]+>/g, '');
      expect(page, action).toContain(reason);
      expect(page, action).toContain('done.bin');
    }
    expect((await fx.transfer(done)).status).toBe('complete');
  });
});
