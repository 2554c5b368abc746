/**
 * Signing in to the web page without passwords (SPEC section 10): `/dashboard` hands a member
 * a link carrying a token signed with WEB_SECRET (HMAC-SHA256), valid WEB_LINK_TTL_MINUTES
 * and usable once; opening it starts a session held in this process, named by a random id
 * in an HttpOnly, SameSite=Strict cookie. A session keeps what the member could do when they
 * ran `/dashboard` (an Actor) and a CSRF token for the page's forms.
 *
 * Sessions and used links live in memory: a restart ends every session (the page says so)
 * and, with a random WEB_SECRET, every link too.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Actor } from '../transfer/control.js';

/** How long a session lasts after sign-in. */
export const SESSION_TTL_MS = 12 * 3_600_000; // 12 h
/** The cookie that names a session. */
export const SESSION_COOKIE = 'dfs_session';
/** Bounds on what memory holds, however many links and sessions are made. */
const MAX_SESSIONS = 10_000;
const MAX_USED_LINKS = 100_000;

export interface Session {
  id: string;
  actor: Actor;
  guildId: string | null;
  /** Sent back by every form and `fetch` of the page; a cross-site request cannot know it. */
  csrf: string;
  expiresAt: number;
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
}

export type SignInFailure = 'malformed' | 'forged' | 'expired' | 'used';

export class WebAuth {
  readonly #secret: Buffer;
  readonly #linkTtlMs: number;
  readonly #now: () => number;
  readonly #sessions = new Map<string, Session>();
  /** Nonce → expiry of links already used; forgotten once they would have expired anyway. */
  readonly #used = new Map<string, number>();

  constructor(options: { secret: string; linkTtlMinutes: number; now?: () => number }) {
    this.#secret = Buffer.from(options.secret, 'utf8');
    this.#linkTtlMs = options.linkTtlMinutes * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** A sign-in token for a member, as `/dashboard` hands it out inside a link. */
  signInToken(actor: Actor, guildId: string | null): string {
    const claims: LinkClaims = {
      u: actor.userId,
      g: guildId,
      s: actor.mayStart,
      o: actor.mayActOnOthers,
      e: this.#now() + this.#linkTtlMs,
      n: randomBytes(12).toString('base64url'),
    };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${body}.${this.#sign(body)}`;
  }

  /** Uses a sign-in token: a new session, or why the link does not open one. */
  signIn(token: string): Session | SignInFailure {
    const [body, signature, extra] = token.split('.');
    if (!body || !signature || extra !== undefined) return 'malformed';
    const expected = Buffer.from(this.#sign(body));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'forged';
    let claims: LinkClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as LinkClaims;
    } catch {
      return 'malformed';
    }
    const now = this.#now();
    if (typeof claims.e !== 'number' || claims.e <= now) return 'expired';
    this.#forgetExpired(now);
    if (this.#used.has(claims.n)) return 'used';
    if (this.#used.size >= MAX_USED_LINKS) this.#used.delete(this.#used.keys().next().value as string);
    this.#used.set(claims.n, claims.e);
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      actor: { userId: claims.u, mayStart: claims.s, mayActOnOthers: claims.o },
      guildId: claims.g,
      csrf: randomBytes(24).toString('base64url'),
      expiresAt: now + SESSION_TTL_MS,
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

  #sign(body: string): string {
    return createHmac('sha256', this.#secret).update(`dfs-sign-in.${body}`).digest('base64url');
  }

  #forgetExpired(now: number): void {
    for (const [nonce, expiry] of this.#used) if (expiry <= now) this.#used.delete(nonce);
  }
}

/** The value of cookie `name` in a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | null {
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return null;
}
