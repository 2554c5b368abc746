/**
 * The network profiles of `npm run bench -- --network=<profile>` (BENCHMARKS.md) and the
 * ceiling each allows. Pure: tested in test/bench/profiles.test.ts.
 *
 * Processing time: Discord answers a plain text message in ~130–300 ms (that is the normal
 * range reported in discord/discord-api-docs#6721); a message with attachments is answered only
 * once they are stored, so the named profiles assume 500 ms per message. An assumption, not a
 * measurement: `custom:` takes another.
 */
import { MIB } from './stats.js';

/** Discord's per-channel message-create bucket (about 5 per 5 s; DISCORD_NOTES.md). */
export const BUCKET = { limit: 5, windowMs: 5_000 } as const;
/** A full message: Discord's request size limit (25 MiB). */
export const FULL_MESSAGE = 26_214_400; // bytes
/** Discord's time to create a message, for the named profiles (see above). */
const PROCESSING_MS = 500; // ms

export interface Profile {
  name: string;
  /** The uplink; Infinity: no cap. */
  bytesPerSecond: number;
  rttMs: number;
  processingMs: number;
  /** What one run of a row moves by default: a few minutes for the whole profile. */
  sizeBytes: number;
}

const mbit = (n: number) => (n * 1_000_000) / 8; // bytes per second

export const PROFILES: Readonly<Record<string, Profile>> = {
  home: { name: 'home', bytesPerSecond: mbit(50), rttMs: 40, processingMs: PROCESSING_MS, sizeBytes: 256 * MIB },
  server: { name: 'server', bytesPerSecond: mbit(1000), rttMs: 20, processingMs: PROCESSING_MS, sizeBytes: 1024 * MIB },
  discord: { name: 'discord', bytesPerSecond: Number.POSITIVE_INFINITY, rttMs: 0, processingMs: PROCESSING_MS, sizeBytes: 1024 * MIB },
};

/** `home`, `server`, `discord`, or `custom:<Mbit/s>,<rtt ms>,<processing ms>` (Mbit/s `inf` for no cap). */
export function parseProfile(arg: string): Profile {
  const named = PROFILES[arg];
  if (named) return named;
  const custom = /^custom:([^,]+),([^,]+),([^,]+)$/.exec(arg);
  if (!custom) throw new Error(`unknown network profile "${arg}": home, server, discord or custom:<Mbit/s>,<rtt ms>,<processing ms>`);
  const [mbits, rtt, processing] = [custom[1]!, Number(custom[2]), Number(custom[3])];
  const rate = mbits === 'inf' ? Number.POSITIVE_INFINITY : Number(mbits);
  if (!(rate > 0) || !Number.isFinite(rtt) || rtt < 0 || !Number.isFinite(processing) || processing < 0) {
    throw new Error(`bad custom profile "${arg}": Mbit/s must be a positive number or inf, the round trip and processing times ≥ 0 ms`);
  }
  return {
    name: arg,
    bytesPerSecond: rate === Number.POSITIVE_INFINITY ? rate : mbit(rate),
    rttMs: rtt,
    processingMs: processing,
    sizeBytes: 256 * MIB,
  };
}

export interface Ceiling {
  /** MiB/s: the lesser of the two below. */
  mibPerSecond: number;
  linkMiBs: number;
  /** What the buckets let through with full messages: one per channel posted in. */
  bucketMiBs: number;
  boundBy: 'link' | 'bucket';
}

/**
 * The ceiling: the lesser of the link and what the buckets allow with full messages. Each
 * channel, and each thread (a channel of its own), has its own bucket, so messages posted
 * through `channels` of them at once (a transfer's lanes, two transfers each in its thread,
 * posters in three channels) may go `channels` times as fast; the link they share does not.
 */
export function ceiling(profile: Profile, channels = 1, bucket: { limit: number; windowMs: number } = BUCKET): Ceiling {
  if (!Number.isInteger(channels) || channels < 1) throw new Error(`a ceiling needs at least one channel, got ${channels}`);
  const linkMiBs = profile.bytesPerSecond / MIB;
  const bucketMiBs = (channels * bucket.limit * FULL_MESSAGE) / MIB / (bucket.windowMs / 1000);
  return linkMiBs <= bucketMiBs
    ? { mibPerSecond: linkMiBs, linkMiBs, bucketMiBs, boundBy: 'link' }
    : { mibPerSecond: bucketMiBs, linkMiBs, bucketMiBs, boundBy: 'bucket' };
}

/** A calibration is off when it is more than this far from the profile's bandwidth. */
export const CALIBRATION_TOLERANCE = 0.15;

/** How a measured plain transfer compares with the profile's bandwidth: null when there is no cap to compare with. */
export function calibrationOff(profile: Profile, measuredBytesPerSecond: number): number | null {
  if (!Number.isFinite(profile.bytesPerSecond)) return null;
  return measuredBytesPerSecond / profile.bytesPerSecond - 1;
}
