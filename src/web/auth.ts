/**
 * Signing in to the web page without passwords (README, 'The web page'): `/dashboard` hands a member
 * a link carrying a token signed with WEB_SECRET (HMAC-SHA256), valid WEB_LINK_TTL_MINUTES
 * and usable once; opening it starts a session held in this process, named by a random id
 * in an HttpOnly, SameSite=Strict cookie. A session keeps what the member could do when they
 * ran `/dashboard` (an Actor) and a CSRF token for the page's forms.
 *
 * Sessions live in memory: a restart ends every session (the page says so) and, with a
 * random WEB_SECRET, every link too. Used links are recorded durably (used-links.ts), so a
 * link stays used across a restart with a fixed WEB_SECRET.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Actor } from '../transfer/control.js';
import type { SendTarget } from '../send/grant.js';
import { SignedTokens } from './signed-token.js';
import type { UsedLinks } from './used-links.js';

/** How long a session lasts after sign-in. */
export const SESSION_TTL_MS = 12 * 3_600_000; // 12 h
/** The cookie that names a session. */
export const SESSION_COOKIE = 'dfs_session';
/** A bound on what memory holds, however many sessions are made. */
const MAX_SESSIONS = 10_000;

export interface Session {
  id: string;
  actor: Actor;
  guildId: string | null;
  /** Sent back by every form and `fetch` of the page; a cross-site request cannot know it. */
  csrf: string;
  expiresAt: number;
  /** Signed in through `/send`: where its upload goes (the page gets a grant for it, ../send/grant.ts). */
  send?: SendTarget | undefined;
}

interface LinkClaims {
  /** The member's user id. */
  u: string;
  g: string | null;
  /** mayStart, mayActOnOthers. */
  s: boolean;
  o: boolean;
  /** Expiry, ms since the epoch. */
  e: number;
  /** Makes each link unique, so it can be used once. */
  n: string;
  /** The page that made it (its WEB_PUBLIC_URL): shards sharing WEB_SECRET each keep their own record of used links, so a link opens only its own page. */
  p?: string;
  /** A `/send` link: the upload's target. */
  t?: SendTarget;
}

/** `unrecorded`: the link could not be marked used on disk, so it opened nothing and stays usable. */
export type SignInFailure = 'malformed' | 'forged' | 'expired' | 'used' | 'unrecorded';

export class WebAuth {
  readonly #tokens: SignedTokens;
  readonly #linkTtlMs: number;
  readonly #now: () => number;
  readonly #sessions = new Map<string, Session>();
  /** The links already used. */
  readonly #used: UsedLinks;
  readonly #page: string;

  /** `page`: the page's public URL, which its links name and which alone they open. */
  constructor(options: { secret: string; linkTtlMinutes: number; usedLinks: UsedLinks; page: string; now?: () => number }) {
    this.#page = options.page;
    this.#linkTtlMs = options.linkTtlMinutes * 60_000;
    this.#now = options.now ?? Date.now;
    this.#tokens = new SignedTokens(options.secret, 'dfs-sign-in', this.#now);
    this.#used = options.usedLinks;
  }

  /** A sign-in token for a member, as `/dashboard` hands it out inside a link. */
  signInToken(actor: Actor, guildId: string | null, send?: SendTarget): string {
    const claims: LinkClaims = {
      u: actor.userId,
      g: guildId,
      s: actor.mayStart,
      o: actor.mayActOnOthers,
      e: this.#now() + this.#linkTtlMs,
      n: randomBytes(12).toString('base64url'),
      p: this.#page,
      ...(send ? { t: send } : {}),
    };
    return this.#tokens.sign(claims);
  }

  /** Uses a sign-in token: a new session once the link is durably marked used, or why the link does not open one. */
  async signIn(token: string): Promise<Session | SignInFailure> {
    const checked = this.#tokens.verify(token);
    if ('refused' in checked) return checked.refused;
    const claims = checked.claims as Partial<LinkClaims> & { e: number };
    if (typeof claims.n !== 'string' || typeof claims.u !== 'string') return 'malformed';
    // Signed by us, but for another page (another shard): its use is recorded there, not here.
    // A link without `p` was made before links named their page (it expires within WEB_LINK_TTL_MINUTES).
    if (claims.p !== undefined && claims.p !== this.#page) return 'forged';
    const now = this.#now();
    const claimed = await this.#used.claim(claims.n, claims.e);
    if (claimed !== 'claimed') return claimed;
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      actor: { userId: claims.u, mayStart: claims.s === true, mayActOnOthers: claims.o === true },
      guildId: claims.g ?? null,
      csrf: randomBytes(24).toString('base64url'),
      expiresAt: now + SESSION_TTL_MS,
      send: isSendTarget(claims.t) ? claims.t : undefined,
    };
    if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value as string);
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session a cookie header names, if any (`cookieName`: cookie.ts, after the page's origin). */
  session(cookieHeader: string | undefined, cookieName = SESSION_COOKIE): Session | null {
    const id = readCookie(cookieHeader, cookieName);
    if (!id) return null;
    const session = this.#sessions.get(id);
    if (!session) return null;
    if (session.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return null;
    }
    return session;
  }

  /** Signing out: the session ends here, whatever copies of its cookie are left. */
  signOut(session: Session): void {
    this.#sessions.delete(session.id);
  }

  /** Whether `given` is the session's CSRF token (compared in constant time). */
  static csrfMatches(session: Session, given: string | undefined): boolean {
    if (given === undefined) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(session.csrf);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

function isSendTarget(t: unknown): t is SendTarget {
  if (typeof t !== 'object' || t === null) return false;
  const v = t as Partial<SendTarget>;
  return typeof v.channelId === 'string' && typeof v.chunkSize === 'number' && Array.isArray(v.recipients);
}

/** The value of cookie `name` in a Cookie header. */
function readCookie(header: string | undefined, name: string): string | null {
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return null;
}
