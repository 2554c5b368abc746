import { describe, expect, it } from 'vitest';
import { calibrationOff, ceiling, parseProfile, PROFILES } from '../../bench/profiles.js';
import { MIB } from '../support/units.js';

describe('the benchmark network profiles', () => {
  it('GIVEN the named profiles THEN home is 50 Mbit/s and 40 ms, server 1 Gbit/s and 20 ms, discord has no cap', () => {
    expect(parseProfile('home')).toMatchObject({ bytesPerSecond: 6_250_000, rttMs: 40 });
    expect(parseProfile('server')).toMatchObject({ bytesPerSecond: 125_000_000, rttMs: 20 });
    expect(parseProfile('discord').bytesPerSecond).toBe(Number.POSITIVE_INFINITY);
    for (const p of Object.values(PROFILES)) expect(p.processingMs).toBeGreaterThan(0);
  });

  it('GIVEN custom:<Mbit/s>,<rtt>,<processing> THEN it is read as such, inf is no cap, and a bad one is refused naming the form', () => {
    expect(parseProfile('custom:8,120,250')).toMatchObject({ bytesPerSecond: 1_000_000, rttMs: 120, processingMs: 250 });
    expect(parseProfile('custom:inf,0,0').bytesPerSecond).toBe(Number.POSITIVE_INFINITY);
    expect(() => parseProfile('custom:0,10,10')).toThrow(/positive/);
    expect(() => parseProfile('custom:10,-1,10')).toThrow(/≥ 0/);
    expect(() => parseProfile('dialup')).toThrow(/custom:<Mbit\/s>,<rtt ms>,<processing ms>/);
  });

  it('GIVEN a profile THEN the ceiling is the lesser of the link and 5 full 25 MiB messages per 5 s', () => {
    expect(ceiling(parseProfile('home'))).toMatchObject({ boundBy: 'link', mibPerSecond: 6_250_000 / MIB });
    expect(ceiling(parseProfile('server'))).toMatchObject({ boundBy: 'bucket', mibPerSecond: 25 });
    expect(ceiling(parseProfile('discord'))).toMatchObject({ boundBy: 'bucket', mibPerSecond: 25, linkMiBs: Number.POSITIVE_INFINITY });
  });

  it('GIVEN k channels posted through at once (lanes, threads, channels) THEN the ceiling is the lesser of the link and k buckets, and fewer than one channel is refused', () => {
    const server = parseProfile('server');
    expect(ceiling(server, 1)).toEqual(ceiling(server));
    expect(ceiling(server, 2)).toMatchObject({ boundBy: 'bucket', mibPerSecond: 50, bucketMiBs: 50 });
    expect(ceiling(server, 4)).toMatchObject({ boundBy: 'bucket', mibPerSecond: 100 });
    expect(ceiling(server, 8)).toMatchObject({ boundBy: 'link', mibPerSecond: 125_000_000 / MIB, bucketMiBs: 200 });
    expect(ceiling(parseProfile('discord'), 8)).toMatchObject({ boundBy: 'bucket', mibPerSecond: 200 });
    expect(ceiling(parseProfile('home'), 3)).toMatchObject({ boundBy: 'link', mibPerSecond: 6_250_000 / MIB });
    expect(ceiling(server, 3, { limit: 2, windowMs: 1_000 }).bucketMiBs).toBeCloseTo((3 * 2 * 26_214_400) / MIB);
    expect(() => ceiling(server, 0)).toThrow(/at least one channel/);
    expect(() => ceiling(server, 1.5)).toThrow(/at least one channel/);
  });

  it('GIVEN a calibration THEN it is measured against the bandwidth, and there is nothing to compare with without a cap', () => {
    expect(calibrationOff(parseProfile('home'), 5_000_000)).toBeCloseTo(-0.2);
    expect(calibrationOff(parseProfile('discord'), 5_000_000)).toBeNull();
  });
});
