/**
 * What lets a member's browser or CLI upload (README, 'Sending from your own computer'): a
 * grant, a token signed with WEB_SECRET (signed-token.ts, purpose `dfs-send`) naming the member,
 * the guild, the target channel and the options `/send` was given, valid for a session's
 * lifetime. `/send`'s single-use link is a sign-in link that carries the same target; opening
 * it signs the browser in and hands the page a grant (in the address's fragment, which never
 * reaches a server or a log). The CLI redeems the link for one too.
 *
 * Every tus request carries the grant as `Authorization: Bearer <grant>`. Unlike a session it
 * lives in no process, so an upload goes on across a restart of the bot (with a fixed
 * WEB_SECRET), which is the point of a resumable upload.
 */
import { randomBytes } from 'node:crypto';
import { SignedTokens } from '../web/signed-token.js';

/** Where an upload goes and how it is cut, as `/send` was asked. */
export interface SendTarget {
  channelId: string;
  /** Bytes: the part size `/send` chose (its `chunk_size`, else the channel's limit). */
  chunkSize: number;
  /** What the interaction reported (bytes), for error notes; null when none. */
  attachmentSizeLimit: number | null;
  /** age public keys to encrypt to: AGE_RECIPIENTS and `/send`'s `recipient`, already checked. */
  recipients: string[];
}

export interface SendGrant {
  userId: string;
  guildId: string | null;
  target: SendTarget;
  expiresAt: number;
}

/** How long a grant lasts: as a session (auth.ts). */
const GRANT_TTL_MS = 12 * 3_600_000;

interface GrantClaims {
  u: string;
  g: string | null;
  c: string;
  k: number;
  a: number | null;
  r: string[];
  e: number;
  n: string;
}

export class SendGrants {
  readonly #tokens: SignedTokens;
  readonly #now: () => number;

  constructor(secret: string, now: () => number = Date.now) {
    this.#tokens = new SignedTokens(secret, 'dfs-send', now);
    this.#now = now;
  }

  sign(userId: string, guildId: string | null, target: SendTarget): string {
    const claims: GrantClaims = {
      u: userId,
      g: guildId,
      c: target.channelId,
      k: target.chunkSize,
      a: target.attachmentSizeLimit,
      r: target.recipients,
      e: this.#now() + GRANT_TTL_MS,
      n: randomBytes(9).toString('base64url'),
    };
    return this.#tokens.sign(claims);
  }

  /** The grant in an `Authorization: Bearer …` header, or null when there is none, or it is forged, expired or malformed. */
  fromHeader(header: string | undefined): SendGrant | null {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header?.trim() ?? '');
    if (!match) return null;
    const checked = this.#tokens.verify(match[1]!);
    if ('refused' in checked) return null;
    const c = checked.claims as Partial<GrantClaims> & { e: number };
    const valid =
      typeof c.u === 'string' &&
      typeof c.c === 'string' &&
      typeof c.k === 'number' &&
      Number.isSafeInteger(c.k) &&
      c.k > 0 &&
      Array.isArray(c.r) &&
      c.r.every((r) => typeof r === 'string');
    if (!valid) return null;
    return {
      userId: c.u!,
      guildId: typeof c.g === 'string' ? c.g : null,
      target: { channelId: c.c!, chunkSize: c.k!, attachmentSizeLimit: typeof c.a === 'number' ? c.a : null, recipients: c.r! },
      expiresAt: c.e,
    };
  }
}
