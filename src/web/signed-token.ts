/**
 * The tokens the web page hands out and later takes back: sign-in links (auth.ts),
 * download links (share-links.ts) and upload grants (../send/grant.ts). A token is `<payload>.<signature>`: the payload is its
 * claims as JSON in base64url, with `e` the expiry in ms since the epoch, and the signature
 * HMAC-SHA256 with WEB_SECRET over `<purpose>.<payload>`, in base64url. The purpose is signed
 * with it so a token made for one use never passes for the other.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a token is for; changing one ends every link of that kind already handed out. */
export type TokenPurpose = 'dfs-sign-in' | 'dfs-share' | 'dfs-send';

/** Why a token opens nothing: not two dot-separated parts or not JSON with an expiry; not signed by us for this purpose; past its expiry. */
export type TokenRefusal = 'malformed' | 'forged' | 'expired';

export type TokenCheck = { claims: Record<string, unknown> & { e: number } } | { refused: TokenRefusal };

export class SignedTokens {
  readonly #secret: Buffer;

  constructor(
    secret: string,
    private readonly purpose: TokenPurpose,
    private readonly now: () => number = Date.now,
  ) {
    this.#secret = Buffer.from(secret, 'utf8');
  }

  sign(claims: { e: number }): string {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${this.#signature(payload)}`;
  }

  /** The claims of an unexpired token signed for this purpose; else why not (forgery is judged before anything is parsed). */
  verify(token: string): TokenCheck {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return { refused: 'malformed' };
    const expected = Buffer.from(this.#signature(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { refused: 'forged' };
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return { refused: 'malformed' };
    }
    if (typeof claims !== 'object' || claims === null || !('e' in claims) || typeof claims.e !== 'number') return { refused: 'malformed' };
    if (claims.e <= this.now()) return { refused: 'expired' };
    return { claims: claims as Record<string, unknown> & { e: number } };
  }

  #signature(payload: string): string {
    return createHmac('sha256', this.#secret).update(`${this.purpose}.${payload}`).digest('base64url');
  }
}
