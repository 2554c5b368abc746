/**
 * The web page over plain HTTP (README, 'The web page'), with the bot as its own process against the
 * fake Discord: sign-in links, sessions, CSRF and Origin, who sees what, the headers, and what
 * never reaches a log line. The browser tests are in dashboard.browser.test.ts.
 */
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, unexpectedErrors, type BotFixture } from '../support/bot-fixture.js';
import { holdAfterParts, holdWholeBodyAfterParts, streamingBehind, waitUntil, waitUntilCut } from '../support/held.js';
import { writeSeededFile } from '../support/random-file.js';
import { freePort, listeningPorts } from '../support/ports.js';
import { craftToken, dashboardLink, signIn } from '../support/web.js';
import { MIB } from '../support/units.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';
const HOSTILE = '<img src=x onerror=alert(1)>.bin';
const OTHER = { id: '998877665544332211', username: 'other-member' };

describe('the web page over HTTP', () => {
  let fx: BotFixture;
  let base: string;
  const seenTokens: string[] = [];
  const seenCookies: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    fx = await startBotFixture({
      // UPLOAD_TIMEOUT_MS at its default: a part held at the fake waits for the test's requests, however slow they are.
      env: { WEB_PORT: String(port), WEB_SECRET: SECRET, MAX_CHUNKS_PER_MESSAGE: '1', MAX_ACTIVE_TRANSFERS: '10', UPLOAD_TIMEOUT_MS: '120000' },
    });
    base = `http://127.0.0.1:${port}`;
    await writeSeededFile(path.join(fx.filesRoot, 'mine.bin'), 8 * MIB, 1);
    await writeSeededFile(path.join(fx.filesRoot, 'theirs.bin'), 3 * MIB, 2);
    await writeSeededFile(path.join(fx.filesRoot, HOSTILE), 3 * MIB, 3);
  });
  afterAll(async () => {
    await fx?.stop();
  });

  /** A session for the default member (plain permissions unless given), as its cookie. */
  async function session(permissions: bigint = PERMISSIONS.MEMBER, user?: { id: string; username: string }) {
    const { link } = await dashboardLink(fx, { permissions, ...(user ? { user } : {}) });
    expect(link).not.toBeNull();
    seenTokens.push(new URL(link!).searchParams.get('token')!);
    const { cookie } = await signIn(link!);
    seenCookies.push(cookie!.split('=')[1]!);
    return cookie!;
  }

  const get = (route: string, cookie?: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${route}`, { headers: { ...(cookie ? { cookie } : {}), ...headers }, redirect: 'manual' });

  const csrfOf = async (cookie: string) => /name="dfs-csrf" content="([^"]+)"/.exec(await (await get('/', cookie)).text())?.[1] ?? '';

  it('GIVEN WEB_PORT WHEN a member runs /dashboard THEN an ephemeral link that sets an HttpOnly SameSite=Strict __Host- cookie and redirects to /', async () => {
    const { link, ephemeral, content } = await dashboardLink(fx, { permissions: PERMISSIONS.MEMBER });
    expect(ephemeral).toBe(true);
    expect(content).toMatch(/works once, for 15 minutes/);
    expect(link!.startsWith(`${base}/login?token=`)).toBe(true);
    seenTokens.push(new URL(link!).searchParams.get('token')!);
    const opened = await signIn(link!);
    expect(opened.status).toBe(303);
    expect(opened.location).toBe('/');
    expect(opened.setCookie).toMatch(/^__Host-dfs_session=[\w-]{40,}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200; Secure$/);
    seenCookies.push(opened.cookie!.split('=')[1]!);
    const page = await get('/', opened.cookie!);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/Your transfers/);
    expect(await listeningPorts(fx.bot.child.pid!)).toEqual([Number(new URL(base).port)]);
  });

  it('GIVEN a used, forged, expired or malformed link THEN 401 with a page saying to run /dashboard again', async () => {
    const { link } = await dashboardLink(fx, { permissions: PERMISSIONS.MEMBER });
    seenTokens.push(new URL(link!).searchParams.get('token')!);
    expect((await signIn(link!)).status).toBe(303);
    const claims = { u: fx.fake.defaultUser.id, g: fx.fake.guildId, s: true, o: true, n: 'n1' };
    const tries = {
      used: link!,
      forged: `${base}/login?token=${craftToken('another secret of 32 characters!!', { ...claims, e: Date.now() + 60_000 })}`,
      expired: `${base}/login?token=${craftToken(SECRET, { ...claims, e: Date.now() - 1_000 })}`,
      malformed: `${base}/login?token=not-a-token`,
      none: `${base}/login`,
    };
    for (const [what, url] of Object.entries(tries)) {
      const res = await fetch(url, { redirect: 'manual' });
      expect(res.status, what).toBe(401);
      expect(res.headers.get('set-cookie'), what).toBeNull();
      expect(await res.text(), what).toMatch(/Run \/dashboard in Discord/);
    }
  });

  it('GIVEN no session cookie, or an unknown one THEN every page, stream and action answers 401', async () => {
    for (const cookie of [undefined, '__Host-dfs_session=made-up', 'dfs_session=made-up']) {
      for (const route of ['/', '/transfers/upload_abc123', '/events', '/session']) expect((await get(route, cookie)).status, route).toBe(401);
      const post = await fetch(`${base}/transfers/upload_abc123/cancel`, { method: 'POST', headers: cookie ? { cookie } : {} });
      expect(post.status).toBe(401);
    }
  });

  it('GIVEN any answer THEN it carries the security headers: Content-Security-Policy, nosniff, no referrer, no framing, no caching', async () => {
    const cookie = await session();
    for (const res of [
      await get('/', cookie),
      await get('/'),
      await get('/login?token=x'),
      await get('/nope', cookie),
      await get('/static/dashboard.js'),
    ]) {
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
      expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('GIVEN a running transfer WHEN a POST lacks the CSRF token or comes from another Origin THEN 403 and nothing changes; with both THEN it is cancelled', async () => {
    // A part held at the fake with its whole body keeps the transfer running until the accepted POST reaches the bot.
    const held = holdWholeBodyAfterParts(fx.fake, 2);
    try {
      const id = await fx.split('mine.bin', { chunkSizeMiB: 1, permissions: PERMISSIONS.ADMINISTRATOR });
      await waitUntil(() => held.request() !== undefined, 'a part message held at the fake with its whole body');
      const behind = await streamingBehind(fx.fake, held.request()!);
      const cookie = await session(PERMISSIONS.ADMINISTRATOR);
      const csrf = await csrfOf(cookie);
      expect(csrf.length).toBeGreaterThan(20);
      const post = (fields: Record<string, string>, origin: string | null) =>
        fetch(`${base}/transfers/${id}/cancel`, {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
          body: new URLSearchParams(fields),
          redirect: 'manual',
        });
      expect((await post({}, base)).status).toBe(403);
      expect((await post({ csrf: 'wrong' }, base)).status).toBe(403);
      expect((await post({ csrf }, 'https://evil.example')).status).toBe(403);
      expect((await post({ csrf }, null)).status).toBe(403);
      expect((await fx.transfer(id)).status).toBe('in_progress');
      expect(fx.fake.pendingRequests()).toContain(behind);
      const ok = post({ csrf }, base);
      // The cancel reached the run once it cuts the message behind the held one; the held one is answered then.
      await waitUntilCut(fx.fake, behind, 'the accepted cancel');
      held.release();
      expect((await ok).status).toBe(303);
      const cancelled = await fx.waitForStatus(id, ['cancelled'], 15_000);
      expect(cancelled.status).toBe('cancelled');
      // The part Discord had while the cancel waited is recorded; the one behind it was never created.
      expect(cancelled.parts.map((p) => p.message_id)).toContain(held.request()?.messageId);
      expect(cancelled.parts.length).toBe(fx.fake.messages().filter((m) => m.content.includes(id) && m.attachments.length > 0).length);
      expect(fx.bot.logs.some((l) => l.event === 'transfer_cancelled' && l.transfer_id === id)).toBe(true);
    } finally {
      held.release();
      fx.fake.faults.clear();
    }
  });

  it("GIVEN another member's transfer THEN a plain member neither sees it nor reaches it (404), and a member with Manage Messages sees it", async () => {
    const id = await fx.split('theirs.bin', { chunkSizeMiB: 1, permissions: PERMISSIONS.ADMINISTRATOR, user: OTHER });
    await fx.waitForStatus(id, ['complete']);
    const plain = await session(PERMISSIONS.MEMBER);
    expect(await (await get('/', plain)).text()).not.toContain(id);
    expect((await get(`/transfers/${id}`, plain)).status).toBe(404);
    expect((await get(`/transfers/${id}/events`, plain)).status).toBe(404);
    const manager = await session(PERMISSIONS.MEMBER | PERMISSIONS.MANAGE_MESSAGES);
    expect(await (await get('/', manager)).text()).toContain(id);
    expect((await get(`/transfers/${id}`, manager)).status).toBe(200);
  });

  it('GIVEN a file name that is HTML in a note THEN the page shows it as text', async () => {
    // Posts held once a part is posted until the file is gone: the check before the manifest finds it missing.
    const held = holdAfterParts(fx.fake, fx.fake.messages().filter((m) => m.attachments.length > 0).length + 1);
    const id = await fx.split(HOSTILE, { chunkSizeMiB: 1, permissions: PERMISSIONS.ADMINISTRATOR });
    try {
      await fx.waitForParts(id, 1, 15_000);
      await unlink(path.join(fx.filesRoot, HOSTILE));
    } finally {
      held.release();
      fx.fake.faults.clear();
    }
    const t = await fx.waitForStatus(id, ['error', 'complete'], 20_000);
    expect(t.notes.at(-1)).toContain(HOSTILE);
    const html = await (await get(`/transfers/${id}`, await session(PERMISSIONS.ADMINISTRATOR))).text();
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;.bin');
    expect(html).not.toContain('<img src=x');
  });

  it('GIVEN a malformed id or a path outside the routes THEN 404, and nothing is logged as an error', async () => {
    const cookie = await session();
    for (const route of ['/transfers/%ZZ', '/transfers/%E0%A4%A', '/static/../../etc/passwd', '/transfers/a/b/c']) {
      expect((await get(route, cookie)).status, route).toBe(404);
    }
    expect(fx.bot.logs.filter((l) => l.msg === 'web request failed')).toEqual([]);
  });

  it('GIVEN one member who opens live streams from two sessions up to and past their cap THEN their extras get 429, their first ones keep streaming, and another member still gets one', async () => {
    const sessions = [await session(), await session()];
    const controllers = Array.from({ length: 20 }, () => new AbortController());
    const stream = (cookie: string, c: AbortController) => fetch(`${base}/events`, { headers: { cookie }, signal: c.signal });
    try {
      const open = await Promise.all(controllers.slice(0, 16).map((c, i) => stream(sessions[i % 2]!, c)));
      expect(open.map((r) => r.status)).toEqual(new Array(16).fill(200));
      const more = [...sessions, await session()];
      for (const [i, cookie] of more.entries()) {
        const extra = await stream(cookie, controllers[17 + i]!);
        expect(extra.status).toBe(429);
        expect(await extra.text()).toMatch(/live pages open/);
      }
      const reader = open[0]!.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^data: \{"transfers":/);
      const other = await stream(await session(PERMISSIONS.MEMBER, OTHER), controllers[16]!);
      expect(other.status).toBe(200);
    } finally {
      for (const c of controllers) c.abort();
    }
  });

  it('GIVEN everything above THEN no log line holds a sign-in token or a session cookie, and the bot logged no error', () => {
    const text = fx.bot.logs.map((l) => JSON.stringify(l)).join('\n') + fx.bot.stderr();
    expect(seenTokens.length).toBeGreaterThan(5);
    for (const token of seenTokens) expect(text).not.toContain(token.split('.')[1]!);
    for (const cookie of seenCookies) expect(text).not.toContain(cookie);
    expect(text).not.toContain(SECRET);
    expect(unexpectedErrors(fx.bot, [/^transfer_error$/])).toEqual([]);
  });
});

describe('the web page when WEB_PORT is unset', () => {
  let fx: BotFixture;
  beforeAll(async () => {
    fx = await startBotFixture();
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('GIVEN no WEB_PORT THEN /dashboard says the page is off and which key turns it on, and the bot listens on no port', async () => {
    const { content, link, ephemeral } = await dashboardLink(fx);
    expect(ephemeral).toBe(true);
    expect(link).toBeNull();
    expect(content).toMatch(/web page is off.*WEB_PORT/);
    expect(await listeningPorts(fx.bot.child.pid!)).toEqual([]);
  });
});

describe('the web page behind an HTTPS proxy (WEB_PUBLIC_URL https://…)', () => {
  let fx: BotFixture;
  let local: string;
  beforeAll(async () => {
    const port = await freePort();
    fx = await startBotFixture({ env: { WEB_PORT: String(port), WEB_PUBLIC_URL: 'https://files.example.org/', MAX_CHUNKS_PER_MESSAGE: '1' } });
    local = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('GIVEN WEB_PUBLIC_URL with https THEN links use it, the cookie is Secure, a POST must come from that origin, and a random WEB_SECRET is warned of', async () => {
    const { link } = await dashboardLink(fx, { permissions: PERMISSIONS.ADMINISTRATOR });
    expect(link!.startsWith('https://files.example.org/login?token=')).toBe(true);
    // The proxy would forward it here.
    const opened = await signIn(link!.replace('https://files.example.org', local));
    expect(opened.setCookie).toMatch(/^__Host-dfs_session=[\w-]{40,}; .*; Secure$/);
    const page = await fetch(`${local}/`, { headers: { cookie: opened.cookie! } });
    const csrf = /name="dfs-csrf" content="([^"]+)"/.exec(await page.text())![1]!;
    const post = (origin: string) =>
      fetch(`${local}/transfers/upload_nothere/cancel`, {
        method: 'POST',
        headers: { cookie: opened.cookie!, origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf }),
        redirect: 'manual',
      });
    expect((await post(local)).status).toBe(403);
    expect((await post('https://files.example.org')).status).toBe(404);
    expect(fx.bot.logs.some((l) => l.event === 'web_secret_random' && l.level === 40)).toBe(true);
  });
});
