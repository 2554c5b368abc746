import { describe, expect, it } from 'vitest';
import { RetryFailure } from '../../src/errors.js';
import { backoffDelay, MAX_BACKOFF_MS, retry, sleep } from '../../src/transfer/retry.js';

describe('backoffDelay', () => {
  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [5, 1600],
  ])('GIVEN %i failed attempt(s) THEN waits within [0, base × 2^(n−1)] = [0, %i]', (n, cap) => {
    expect(backoffDelay(n, 100, () => 0)).toBe(0);
    expect(backoffDelay(n, 100, () => 0.5)).toBe(cap / 2);
    expect(backoffDelay(n, 100, () => 0.999999)).toBeLessThanOrEqual(cap);
    expect(backoffDelay(n, 100, () => 0.999999)).toBeGreaterThanOrEqual(cap * 0.99);
  });

  it('GIVEN a huge attempt number THEN the wait is capped', () => {
    expect(backoffDelay(60, 500, () => 0.999999)).toBeLessThanOrEqual(MAX_BACKOFF_MS);
  });

  it('GIVEN attempt 0 THEN it is refused', () => {
    expect(() => backoffDelay(0, 100)).toThrow(RangeError);
  });
});

describe('retry', () => {
  const noWait = async () => undefined;

  it('GIVEN two retryable failures THEN the third attempt succeeds and reports 3 attempts', async () => {
    let calls = 0;
    const seen: number[] = [];
    const result = await retry(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw new Error('flaky');
        return 'ok';
      },
      { limit: 5, baseMs: 10, retryable: () => true, sleep: noWait, onRetry: (_e, attempt) => seen.push(attempt) },
    );
    expect(result).toEqual({ value: 'ok', attempts: 3 });
    expect(calls).toBe(3);
    expect(seen).toEqual([1, 2]);
  });

  it('GIVEN a limit of 2 THEN gives up after 3 attempts with RetryFailure', async () => {
    let calls = 0;
    const err = await retry(
      async () => {
        calls++;
        throw new Error('down');
      },
      { limit: 2, baseMs: 10, retryable: () => true, sleep: noWait },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryFailure);
    expect((err as RetryFailure).attempts).toBe(3);
    expect(calls).toBe(3);
  });

  it('GIVEN a failure that is not retryable THEN stops at once', async () => {
    let calls = 0;
    const err = await retry(
      async () => {
        calls++;
        throw new Error('fatal');
      },
      { limit: 5, baseMs: 10, retryable: () => false, sleep: noWait },
    ).catch((e: unknown) => e as RetryFailure);
    expect(calls).toBe(1);
    expect(err.attempts).toBe(1);
  });
});

describe('sleep', () => {
  it('GIVEN the signal aborts THEN the sleep rejects at once', async () => {
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});
