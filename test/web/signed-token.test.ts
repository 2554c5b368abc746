/**
 * The tokens signed with WEB_SECRET (src/web/signed-token.ts): sign-in links and download
 * links share one format, each signed for its own purpose, so neither passes for the other,
 * and tokens made the way the bot has always made them keep working.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { WebAuth } from '../../src/web/auth.js';
import { ShareLinks } from '../../src/web/share-links.js';
import { SignedTokens } from '../../src/web/signed-token.js';
import { UsedLinks } from '../../src/web/used-links.js';
import { craftToken } from '../support/web.js';

const SECRET = 'test-web-secret-0123456789abcdefghij';
const MEMBER = { userId: '111', mayStart: true, mayActOnOthers: false };
const PUBLIC_URL = 'http://127.0.0.1:1';

function auth(now: () => number = Date.now): WebAuth {
  return new WebAuth({
    secret: SECRET,
    linkTtlMinutes: 15,
    usedLinks: UsedLinks.inMemory({ log: createLogger({ level: 'silent' }) }),
    page: 'http://127.0.0.1:8080',
    now,
  });
}

/** The token inside a download link `PUBLIC_URL/d/<token>/<name>`. */
const tokenOf = (url: string) => url.slice(`${PUBLIC_URL}/d/`.length).split('/')[0]!;

describe('signed tokens', () => {
  it('GIVEN a sign-in token THEN it is no download link, and a download token signs no one in', async () => {
    const signIn = auth().signInToken(MEMBER, 'g1');
    const links = new ShareLinks(SECRET);
    expect(links.read(signIn)).toBe('forged');
    const download = tokenOf(links.url(PUBLIC_URL, { t: 'upload_abc', g: 0, e: Date.now() + 60_000 }, 'a.bin'));
    expect(links.read(download)).toEqual({ t: 'upload_abc', g: 0, e: expect.any(Number) as number });
    expect(await auth().signIn(download)).toBe('forged');
  });

  it('GIVEN tokens made by hand in the format links have always had THEN both kinds are still accepted', async () => {
    const e = Date.now() + 60_000;
    const body = Buffer.from(JSON.stringify({ t: 'upload_abc', g: 2, e })).toString('base64url');
    const share = `${body}.${createHmac('sha256', SECRET).update(`dfs-share.${body}`).digest('base64url')}`;
    expect(new ShareLinks(SECRET).read(share)).toEqual({ t: 'upload_abc', g: 2, e });
    const signIn = craftToken(SECRET, { u: '111', g: 'g1', s: true, o: false, e, n: 'n1' });
    const session = await auth().signIn(signIn);
    expect(typeof session === 'string' ? session : session.actor).toEqual(MEMBER);
  });

  it('GIVEN an expired, a tampered, a foreign or a malformed token THEN each is refused as such', () => {
    let now = 1_000_000;
    const tokens = new SignedTokens(SECRET, 'dfs-share', () => now);
    const token = tokens.sign({ e: now + 10 });
    expect(tokens.verify(token)).toEqual({ claims: { e: now + 10 } });
    const [payload, signature] = token.split('.') as [string, string];
    const other = Buffer.from(JSON.stringify({ e: now + 1e9 })).toString('base64url');
    expect(tokens.verify(`${other}.${signature}`)).toEqual({ refused: 'forged' });
    expect(new SignedTokens('another secret', 'dfs-share', () => now).verify(token)).toEqual({ refused: 'forged' });
    for (const bad of ['', 'x', `${payload}.`, `${payload}.${signature}.x`]) expect(tokens.verify(bad), bad).toEqual({ refused: 'malformed' });
    expect(tokens.verify(tokens.sign({ e: 'soon' } as unknown as { e: number }))).toEqual({ refused: 'malformed' });
    now += 10;
    expect(tokens.verify(token)).toEqual({ refused: 'expired' });
  });
});
