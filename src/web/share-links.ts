/**
 * Download links (README, 'Download links'): `WEB_PUBLIC_URL/d/<token>/<file name>`, the token
 * signed with WEB_SECRET (HMAC-SHA256) and carrying the transfer's id, the link's expiry and
 * the transfer's `share_generation` when it was made. `/share revoke:true` advances the
 * generation, which ends every link made before; the name in the path is for the browser only.
 */
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

  url(publicUrl: string, claims: ShareClaims, fileName: string): string {
    return `${publicUrl}/d/${this.#tokens.sign(claims)}/${encodeURIComponent(fileName)}`;
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

/** `Content-Disposition: attachment` with the file's name: an ASCII fallback, and RFC 6266 / 8187 `filename*` for the rest. */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
