/**
 * The dashboard's forms over plain HTTP, as a browser without its script posts them, with the
 * bot as its own process against the fake Discord: the "Download link" button within
 * SHARE_MAX_HOURS, a refused Cancel or Resume saying why, the session cookie a planted one
 * cannot shadow, and signing out.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { freePort } from '../support/ports.js';
import { writeSeededFile } from '../support/random-file.js';
import { dashboardLink, signIn } from '../support/web.js';
import { MIB } from '../support/units.js';

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

  it('GIVEN the page on 127.0.0.1 THEN the session cookie is __Host- (Secure, Path=/, no Domain), and a cookie planted for /transfers does not shadow it', async () => {
    const { link } = await dashboardLink(fx, { permissions: PERMISSIONS.ADMINISTRATOR });
    const opened = await signIn(link!);
    expect(opened.setCookie).toMatch(/^__Host-dfs_session=[\w-]{40,}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200; Secure$/);
    expect(opened.setCookie).not.toMatch(/Domain=/i);
    const real = opened.cookie!;
    // Someone else's session, planted under the name a page may still set without the prefix's rules
    // (a __Host- cookie with Path=/transfers is refused by the browser); it arrives first, its path being longer.
    const theirs = (await session(PERMISSIONS.MEMBER, { id: '998877665544332211', username: 'planter' })).split('=')[1]!;
    const planted = `${real.split('=')[0]!.replace(/^__Host-/, '')}=${theirs}`;
    const csrf = await csrfOf(real);
    expect(await csrfOf(`${planted}; ${real}`)).toBe(csrf);
    const page = await (await get(`/transfers/${done}`, `${planted}; ${real}`)).text();
    expect(page).toContain(`content="${csrf}"`);
  });

  it('GIVEN a session WHEN Sign out is posted without the CSRF token THEN 403 and it lasts; with it THEN the cookie is cleared and the session ends on the server', async () => {
    const cookie = await session();
    const home = await (await get('/', cookie)).text();
    expect(home).toMatch(/<form method="post" action="\/signout"[^>]*>\s*<input type="hidden" name="csrf"/);
    expect((await post('/signout', cookie, {})).status).toBe(403);
    expect((await post('/signout', cookie, { csrf: await csrfOf(cookie) }, 'https://evil.example')).status).toBe(403);
    expect((await get('/', cookie)).status).toBe(200);
    const out = await post('/signout', cookie, { csrf: await csrfOf(cookie) });
    expect(out.status).toBe(200);
    expect(await out.text()).toMatch(/Signed out/);
    expect(out.headers.get('set-cookie')).toMatch(new RegExp(`^${cookie.split('=')[0]!}=; .*Path=/; Max-Age=0`));
    // The browser forgets the cookie; the server forgets the session, so a copy of it opens nothing.
    expect((await get('/', cookie)).status).toBe(401);
    expect((await get('/events', cookie)).status).toBe(401);
    expect(unexpectedErrors(fx.bot)).toEqual([]);
  });
});
