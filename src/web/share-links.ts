/**
 * Download links (README, 'Download links'): `WEB_PUBLIC_URL/d/<token>/<file name>`, the token
 * signed with WEB_SECRET (HMAC-SHA256) and carrying the transfer's id, the link's expiry and
 * the transfer's `share_generation` when it was made. `/share revoke:true` advances the
 * generation, which ends every link made before; the name in the path is for the browser only.
 */
import { create as createContentDisposition } from 'content-disposition';
import { SignedTokens, type TokenRefusal } from './signed-token.js';

export interface ShareClaims {
  /** The transfer id. */
  t: string;
  /** Its share_generation when the link was made. */
  g: number;
  /** Expiry, ms since the epoch. */
  e: number;
}

export class ShareLinks {
  readonly #tokens: SignedTokens;

  constructor(secret: string) {
    this.#tokens = new SignedTokens(secret, 'dfs-share');
  }

  /** Without `fileName`, the link is `/d/<token>` alone: shorter, and the file still comes under its name. */
  url(publicUrl: string, claims: ShareClaims, fileName: string | null): string {
    const link = `${publicUrl}/d/${this.#tokens.sign(claims)}`;
    return fileName === null ? link : `${link}/${encodeURIComponent(fileName)}`;
  }

  /** The claims of an unexpired token the bot signed for a download; else why not. Generation is the caller's to judge. */
  read(token: string): ShareClaims | TokenRefusal {
    const checked = this.#tokens.verify(token);
    if ('refused' in checked) return checked.refused;
    const { t, g, e } = checked.claims;
    if (typeof t !== 'string' || typeof g !== 'number') return 'malformed';
    return { t, g, e };
  }
}

/** What a client that cannot read `filename*` is offered: printable ASCII, without a quote, a backslash or a `%` some clients would decode. */
const NOT_IN_FALLBACK = /[^\x20-\x7e]|["\\%]/g;

/**
 * `Content-Disposition: attachment` with the file's name (RFC 6266): `filename` alone for a
 * plain ASCII name, else an ASCII fallback and the exact name in RFC 8187 `filename*`.
 */
export function contentDisposition(name: string): string {
  return createContentDisposition(name, { fallback: name.replace(NOT_IN_FALLBACK, '_') });
}
