/**
 * Retry with exponential backoff and full jitter (RETRY_BACKOFF_BASE_MS, README 'Configuration'): after the
 * n-th failed attempt the wait is a random time in [0, base × 2^(n−1)]. `random` and `sleep`
 * are injectable so tests run without real waits.
 */
import { messageOf, RetryFailure } from '../errors.js';

export type Random = () => number; // [0, 1)
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * Upper bound on a single wait. The formula above grows without limit; with a large
 * RETRY_LIMIT_PER_CHUNK it would otherwise ask for hours.
 */
export const MAX_BACKOFF_MS = 300_000; // ms

/** The wait after `failedAttempts` (≥ 1) failed attempts. */
export function backoffDelay(failedAttempts: number, baseMs: number, random: Random = Math.random, maxMs = MAX_BACKOFF_MS): number {
  if (!Number.isInteger(failedAttempts) || failedAttempts < 1) throw new RangeError(`failed attempts must be ≥ 1, got ${failedAttempts}`);
  const cap = Math.min(baseMs * 2 ** (failedAttempts - 1), maxMs);
  // cap + 1 so that the upper bound itself can be drawn: the range is [0, cap] inclusive.
  return Math.floor(random() * (cap + 1));
}

/** setTimeout as a promise that rejects with the signal's reason as soon as it aborts. */
export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** What an aborted signal's operation fails with: its reason (every reason this project gives is an Error), else an AbortError. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException(reason === undefined ? 'This operation was aborted' : messageOf(reason), 'AbortError');
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR');
}

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
