/** The upload's time limit that stops counting while the bot holds the request back (src/discord/time-limit.ts), under a fake clock. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TimeLimit } from '../../src/discord/time-limit.js';

describe('TimeLimit', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('GIVEN no pause THEN it expires once, after its time', () => {
    const expire = vi.fn();
    new TimeLimit(1_000, expire);
    vi.advanceTimersByTime(999);
    expect(expire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(expire).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(expire).toHaveBeenCalledTimes(1);
  });

  it('GIVEN a pause THEN the paused time does not count, and what was counted before it does', () => {
    const expire = vi.fn();
    const limit = new TimeLimit(1_000, expire);
    vi.advanceTimersByTime(600);
    limit.pause();
    limit.pause(); // a second pause changes nothing
    vi.advanceTimersByTime(60_000);
    expect(expire).not.toHaveBeenCalled();
    limit.resume();
    limit.resume(); // nor a second resume
    vi.advanceTimersByTime(399);
    expect(expire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(expire).toHaveBeenCalledTimes(1);
  });

  it('GIVEN cleared THEN it never expires, even when resumed after', () => {
    const expire = vi.fn();
    const limit = new TimeLimit(1_000, expire);
    vi.advanceTimersByTime(500);
    limit.pause();
    limit.clear();
    limit.resume();
    vi.advanceTimersByTime(10_000);
    expect(expire).not.toHaveBeenCalled();
  });

  it('GIVEN expired while counting THEN a later pause and resume do not start it again', () => {
    const expire = vi.fn();
    const limit = new TimeLimit(100, expire);
    vi.advanceTimersByTime(100);
    limit.pause();
    limit.resume();
    vi.advanceTimersByTime(1_000);
    expect(expire).toHaveBeenCalledTimes(1);
  });
});
