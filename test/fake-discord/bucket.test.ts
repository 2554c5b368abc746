/** The fake's rate-limit bucket and its 429 (bucket.ts): times are given, no clock. */
import { describe, expect, it } from 'vitest';
import { Bucket, tooManyRequests } from '../support/fake-discord/bucket.js';

const T = 1_700_000_000_000; // ms, epoch

describe('the rate-limit bucket', () => {
  it('GIVEN 5 per 5 s WHEN a sixth message comes 1.2 s into the window THEN it gets a 429 with the headers and body Discord sends', () => {
    const bucket = new Bucket(5, 5_000, 'abcd1234');
    for (let i = 0; i < 5; i++) expect(bucket.take(T + i * 100)).toBe(0);
    expect(bucket.headers(T + 400)).toEqual({
      'X-RateLimit-Limit': '5',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '1700000005.000',
      'X-RateLimit-Reset-After': '4.600',
      'X-RateLimit-Bucket': 'abcd1234',
    });
    const now = T + 1_200;
    const wait = bucket.take(now);
    expect(wait).toBe(3_800);
    const answer = tooManyRequests(now, wait, { global: false, scope: 'user', wholeSeconds: true, bucket: bucket.headers(now) });
    expect(answer.headers).toEqual({
      'X-RateLimit-Limit': '5',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '1700000005.000',
      'X-RateLimit-Reset-After': '3.800',
      'X-RateLimit-Bucket': 'abcd1234',
      'Retry-After': '4',
      'X-RateLimit-Scope': 'user',
    });
    expect(answer.body).toEqual({ message: 'You are being rate limited.', retry_after: 3.8, global: false, code: 0 });
  });

  it('GIVEN a window that has ended THEN the bucket is full again and the next message opens a new window', () => {
    const bucket = new Bucket(2, 1_000, 'b');
    expect(bucket.take(T)).toBe(0);
    expect(bucket.take(T + 10)).toBe(0);
    expect(bucket.take(T + 999)).toBe(1);
    expect(bucket.take(T + 1_000)).toBe(0);
    expect(bucket.headers(T + 1_250)).toMatchObject({ 'X-RateLimit-Remaining': '1', 'X-RateLimit-Reset-After': '0.750' });
  });

  it('GIVEN a global refusal with decimals THEN Retry-After keeps them and X-RateLimit-Global is set', () => {
    const answer = tooManyRequests(T, 400, { global: true, scope: 'global', wholeSeconds: false });
    expect(answer.headers).toMatchObject({ 'Retry-After': '0.4', 'X-RateLimit-Global': 'true', 'X-RateLimit-Scope': 'global' });
    expect(answer.body.global).toBe(true);
  });
});
