/**
 * The dashboard's "Send a file" over HTTP: `POST /send/grant` answers the send page with a
 * grant for the channel where `/dashboard` was run, only to a form of this page (Origin and
 * CSRF token) and only for a member who could `/send` there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, startBotFixture, type BotFixture } from '../support/bot-fixture.js';
import { freePort } from '../support/ports.js';
import { dashboardLink, signIn } from '../support/web.js';

/** Allowed to start transfers (Manage Server, with no allow-lists) and to post files (a member's channel rights). */
const STARTER = PERMISSIONS.MEMBER | PERMISSIONS.MANAGE_GUILD;

let fx: BotFixture;
let base: string;

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  fx = await startBotFixture({ env: { WEB_PORT: String(port), WEB_SECRET: 'send-grant-secret-0123456789abcdefgh' } });
});
afterAll(async () => fx?.stop());

/** A session through `/dashboard` with these permissions: its cookie and the page's CSRF token. */
async function session(permissions: bigint): Promise<{ cookie: string; csrf: string; page: string }> {
  const { link } = await dashboardLink(fx, { permissions });
  const { cookie } = await signIn(link!);
  const page = await (await fetch(`${base}/`, { headers: { cookie: cookie! } })).text();
  return { cookie: cookie!, csrf: /name="dfs-csrf" content="([^"]+)"/.exec(page)![1]!, page };
}

const post = (cookie: string, body: string, origin = base) =>
  fetch(`${base}/send/grant`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });

describe('POST /send/grant ("Send a file" on the dashboard)', () => {
  it('GIVEN a member who may start transfers and post files where they ran /dashboard WHEN they click "Send a file" THEN the send page opens with a grant for that channel', async () => {
    const { cookie, csrf, page } = await session(STARTER);
    expect(page).toContain('action="/send/grant"');
    const res = await post(cookie, `csrf=${encodeURIComponent(csrf)}`);
    expect(res.status).toBe(303);
    const location = res.headers.get('location')!;
    expect(location).toMatch(/^\/send#grant=[\w-]+\.[\w-]+$/);
    const grant = location.split('#grant=')[1]!;
    const target = await fetch(`${base}/send/target`, { headers: { authorization: `Bearer ${grant}` } });
    expect(target.status).toBe(200);
    const body = (await target.json()) as { channel_id: string; chunk_size: number; encrypted: boolean };
    expect(body.channel_id).toBe(fx.fake.channels[0]!.id);
    expect(body.chunk_size).toBe(8_000_000);
    expect(body.encrypted).toBe(false);
  });

  it('GIVEN a form without the CSRF token or from another origin THEN it is refused with 403 and no grant', async () => {
    const { cookie, csrf } = await session(STARTER);
    const noToken = await post(cookie, 'csrf=wrong');
    expect(noToken.status).toBe(403);
    expect(noToken.headers.get('location')).toBeNull();
    const elsewhere = await post(cookie, `csrf=${encodeURIComponent(csrf)}`, 'https://evil.example');
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.headers.get('location')).toBeNull();
  });

  it.each([
    ['who cannot post files in the channel of /dashboard', PERMISSIONS.MANAGE_GUILD | (1n << 10n)],
    ['who may not start transfers', PERMISSIONS.MEMBER],
  ])('GIVEN a member %s THEN the page offers no "Send a file" and the POST is refused', async (_who, permissions) => {
    const { cookie, csrf, page } = await session(permissions);
    expect(page).not.toContain('action="/send/grant"');
    const res = await post(cookie, `csrf=${encodeURIComponent(csrf)}`);
    expect(res.status).toBe(403);
    expect(res.headers.get('location')).toBeNull();
  });

  it('GIVEN no grant or a forged one THEN /send/target answers 401', async () => {
    expect((await fetch(`${base}/send/target`)).status).toBe(401);
    expect((await fetch(`${base}/send/target`, { headers: { authorization: 'Bearer abc.def' } })).status).toBe(401);
  });
});
