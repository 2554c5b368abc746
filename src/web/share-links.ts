/**
 * Download links (README, 'Download links'): `WEB_PUBLIC_URL/d/<token>/<file name>`, the token
 * signed with WEB_SECRET (HMAC-SHA256) and carrying the transfer's id, the link's expiry and
 * the transfer's `share_generation` when it was made. `/share revoke:true` advances the
 * generation, which ends every link made before; the name in the path is for the browser only.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface ShareClaims {
  /** The transfer id. */
  t: string;
  /** Its share_generation when the link was made. */
  g: number;
  /** Expiry, ms since the epoch. */
  e: number;
}

export class ShareLinks {
  readonly #secret: Buffer;

  constructor(secret: string) {
    this.#secret = Buffer.from(secret, 'utf8');
  }

  url(publicUrl: string, claims: ShareClaims, fileName: string): string {
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${publicUrl}/d/${body}.${this.#sign(body)}/${encodeURIComponent(fileName)}`;
  }

  /** The claims of a token the bot signed; null for anything else (forged, malformed). Expiry and generation are the caller's to judge. */
  read(token: string): ShareClaims | null {
    const [body, signature, extra] = token.split('.');
    if (!body || !signature || extra !== undefined) return null;
    const expected = Buffer.from(this.#sign(body));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<ShareClaims>;
      if (typeof claims.t !== 'string' || typeof claims.g !== 'number' || typeof claims.e !== 'number') return null;
      return { t: claims.t, g: claims.g, e: claims.e };
    } catch {
      return null;
    }
  }

  #sign(body: string): string {
    return createHmac('sha256', this.#secret).update(`dfs-share.${body}`).digest('base64url');
  }
}

/** `Content-Disposition: attachment` with the file's name: an ASCII fallback, and RFC 6266 / 8187 `filename*` for the rest. */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
