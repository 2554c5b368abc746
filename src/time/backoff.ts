/**
 * The one backoff formula: after the n-th failure in a row, wait base × 2^(n−1), capped; with
 * full jitter, a random time in [0, that] instead. Retries jitter (many parts failing at once
 * must not come back together); the store's probe and a shard's respawn do not (there is one
 * of each, and their tests read the exact waits).
 */

export type Random = () => number; // [0, 1)

/**
 * The cap `retry` uses (RETRY_BACKOFF_BASE_MS, README 'Configuration'). The doubling grows
 * without limit; with a large RETRY_LIMIT_PER_CHUNK it would otherwise ask for hours.
 */
export const MAX_BACKOFF_MS = 300_000; // ms

/**
 * The wait after `failedAttempts` (≥ 1) failures: full jitter drawn with `random`, or
 * none when `random` is null.
 */
export function backoffDelay(failedAttempts: number, baseMs: number, random: Random | null = Math.random, maxMs = MAX_BACKOFF_MS): number {
  if (!Number.isInteger(failedAttempts) || failedAttempts < 1) throw new RangeError(`failed attempts must be ≥ 1, got ${failedAttempts}`);
  const cap = Math.min(baseMs * 2 ** (failedAttempts - 1), maxMs);
  if (random === null) return cap;
  // cap + 1 so that the upper bound itself can be drawn: the range is [0, cap] inclusive.
  return Math.floor(random() * (cap + 1));
}
