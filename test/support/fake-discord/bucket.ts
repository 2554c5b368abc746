/**
 * A Discord rate-limit bucket as the fake keeps it, and the answers it gives (Discord's docs,
 * topics/rate-limits): `limit` requests per window, a window starting with the first request
 * after the last one ended, the `X-RateLimit-*` headers on every answer and a 429 with
 * `Retry-After` and a `{message, retry_after, global}` body when a request comes too soon.
 * Pure: every method is told the time, so tests need no clock.
 */

export interface TooManyRequests {
  headers: Record<string, string>;
  body: { message: string; retry_after: number; global: boolean; code: number };
}

export interface TooManyOptions {
  global: boolean;
  scope: 'user' | 'shared' | 'global';
  /** `Retry-After` in whole seconds rounded up, as Discord sends it; else with decimals (`0.4`), so short waits stay short in tests. */
  wholeSeconds: boolean;
  /** The bucket's own headers, when the refusal is about a bucket. */
  bucket?: Record<string, string>;
}

export class Bucket {
  count = 0;
  resetAt = 0; // ms, epoch
  /** Set by a rate-limit fault: everything waits until then. */
  blockedUntil = 0; // ms, epoch

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly hash: string,
  ) {}

  private roll(now: number): void {
    if (now >= this.resetAt) {
      this.count = 0;
      this.resetAt = now + this.windowMs;
    }
  }

  /** Counts a request: 0 when it may go ahead, else how many ms until it could. */
  take(now: number): number {
    this.roll(now);
    if (now < this.blockedUntil) return this.blockedUntil - now;
    if (this.count >= this.limit) return this.resetAt - now;
    this.count++;
    return 0;
  }

  /** The headers of an answer at `now`: what is left of the window and when it ends. */
  headers(now: number): Record<string, string> {
    this.roll(now);
    const blocked = now < this.blockedUntil;
    const resetAt = blocked ? Math.max(this.resetAt, this.blockedUntil) : this.resetAt;
    return {
      'X-RateLimit-Limit': String(this.limit),
      'X-RateLimit-Remaining': String(blocked ? 0 : Math.max(0, this.limit - this.count)),
      'X-RateLimit-Reset': (resetAt / 1000).toFixed(3),
      'X-RateLimit-Reset-After': (Math.max(0, resetAt - now) / 1000).toFixed(3),
      'X-RateLimit-Bucket': this.hash,
    };
  }
}

/** The 429 for a request that must wait `retryAfterMs`, headers and body as Discord sends them. */
export function tooManyRequests(now: number, retryAfterMs: number, options: TooManyOptions): TooManyRequests {
  const secs = Math.max(0, retryAfterMs) / 1000;
  const headers: Record<string, string> = {
    ...options.bucket,
    'X-RateLimit-Remaining': '0',
    'X-RateLimit-Reset-After': secs.toFixed(3),
    'X-RateLimit-Reset': ((now + retryAfterMs) / 1000).toFixed(3),
    'Retry-After': options.wholeSeconds ? String(Math.ceil(secs)) : String(Number(secs.toFixed(3))),
    'X-RateLimit-Scope': options.scope,
  };
  if (options.global) headers['X-RateLimit-Global'] = 'true';
  return { headers, body: { message: 'You are being rate limited.', retry_after: Number(secs.toFixed(3)), global: options.global, code: 0 } };
}
