import { describe, expect, it } from 'vitest';
import { backoffDelay, MAX_BACKOFF_MS } from '../../src/time/backoff.js';

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

  it('GIVEN no jitter THEN the wait is exactly base × 2^(n−1), capped', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 500, null, 3_000))).toEqual([500, 1_000, 2_000, 3_000]);
    expect(backoffDelay(10_000, 500, null, 3_000)).toBe(3_000);
  });
});
