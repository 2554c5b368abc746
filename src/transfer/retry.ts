/**
 * Retry with exponential backoff and full jitter (RETRY_BACKOFF_BASE_MS, README 'Configuration'): after the
 * n-th failed attempt the wait is a random time in [0, base × 2^(n−1)], at most MAX_BACKOFF_MS
 * (src/time/backoff.ts). `random` and `sleep` are injectable so tests run without real waits.
 */
import { RetryFailure } from '../errors.js';
import { backoffDelay, type Random } from '../time/backoff.js';
import { sleep, type Sleep } from '../time/sleep.js';

export interface RetryOptions {
  /** Retries after the first attempt: `limit + 1` attempts at most. */
  limit: number;
  baseMs: number;
  /** Decides whether a failure is worth another attempt. */
  retryable: (err: unknown) => boolean;
  signal?: AbortSignal | undefined;
  random?: Random | undefined;
  sleep?: Sleep | undefined;
  /** Called before each wait, with the attempt that failed (1-based) and the chosen delay. */
  onRetry?: ((err: unknown, attempt: number, delayMs: number) => void) | undefined;
  /** Stops retrying early (e.g. another batch already failed the transfer). */
  stop?: (() => boolean) | undefined;
}

/** Runs `fn(attempt)` until it succeeds, a failure is not retryable, or the limit is reached. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<{ value: T; attempts: number }> {
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await fn(attempt), attempts: attempt };
    } catch (err) {
      const more = attempt <= options.limit && options.retryable(err) && !options.signal?.aborted && !options.stop?.();
      if (!more) throw new RetryFailure(err, attempt);
      const delay = backoffDelay(attempt, options.baseMs, options.random);
      options.onRetry?.(err, attempt, delay);
      try {
        await wait(delay, options.signal);
      } catch (abortErr) {
        throw new RetryFailure(abortErr, attempt);
      }
    }
  }
}
