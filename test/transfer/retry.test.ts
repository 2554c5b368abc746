import { describe, expect, it } from 'vitest';
import { RetryFailure } from '../../src/errors.js';
import { retry } from '../../src/transfer/retry.js';

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
