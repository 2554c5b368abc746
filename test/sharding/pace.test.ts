/** When the shard manager may start a shard (src/sharding/pace.ts): Discord's IDENTIFY pace per rate-limit key, and the backoff. */
import { describe, expect, it } from 'vitest';
import { IDENTIFY_INTERVAL_MS, IdentifyPacer, respawnDelayMs } from '../../src/sharding/pace.js';

describe('IdentifyPacer', () => {
  it('GIVEN max_concurrency 1 THEN every shard waits 5.5 s after the one before, as discord.js spaces them by default', () => {
    const pacer = new IdentifyPacer(1);
    expect(pacer.waitMs(0, 1_000)).toBe(0);
    pacer.started(0, 1_000);
    expect(pacer.waitMs(1, 1_000)).toBe(IDENTIFY_INTERVAL_MS);
    expect(pacer.waitMs(1, 4_000)).toBe(2_500);
    expect(pacer.waitMs(1, 6_500)).toBe(0);
  });

  it('GIVEN max_concurrency 16 THEN shards 0 to 15 start together and shard 16, of the same key as 0, waits 5.5 s', () => {
    const pacer = new IdentifyPacer(16);
    for (let id = 0; id < 16; id++) {
      expect(pacer.waitMs(id, 0), `shard ${id}`).toBe(0);
      pacer.started(id, 0);
    }
    expect(pacer.waitMs(16, 0)).toBe(IDENTIFY_INTERVAL_MS);
    expect(pacer.waitMs(31, 100)).toBe(IDENTIFY_INTERVAL_MS - 100);
  });

  it('GIVEN a shard started again THEN it waits for its own key like any other', () => {
    const pacer = new IdentifyPacer(2);
    pacer.started(1, 0);
    expect(pacer.waitMs(1, 500)).toBe(IDENTIFY_INTERVAL_MS - 500);
    expect(pacer.waitMs(0, 500)).toBe(0);
  });
});

describe('respawnDelayMs', () => {
  it('GIVEN deaths in a row THEN 0.5 s after the first, doubling, at most 30 s', () => {
    expect([1, 2, 3, 4, 5].map(respawnDelayMs)).toEqual([500, 1_000, 2_000, 4_000, 8_000]);
    expect(respawnDelayMs(20)).toBe(30_000);
  });
});
