/** When the shard manager may start a shard process: Discord's IDENTIFY pace, and backing off a shard that keeps dying. */
import { backoffDelay } from '../time/backoff.js';

/**
 * Discord lets one shard per rate-limit key (shard id % max_concurrency) IDENTIFY every 5 s;
 * discord.js's ShardingManager waits 5.5 s between any two shards by default, the safe pace
 * for max_concurrency 1 against real Discord. Shards of different keys need no wait at all,
 * so the pace is kept per key: a bot allowed 16 at once starts 16 shards together, then the
 * next 16 after 5.5 s, instead of one every 5.5 s (and the tests' fake Discord, which allows
 * several, does not wait 5.5 s between its two shards).
 */
export const IDENTIFY_INTERVAL_MS = 5_500;

/** When each rate-limit key last had a shard started, and so how long the next of it waits. */
export class IdentifyPacer {
  readonly #lastStart = new Map<number, number>();

  constructor(
    readonly maxConcurrency: number,
    readonly intervalMs = IDENTIFY_INTERVAL_MS,
  ) {}

  /** Milliseconds from `now` before shard `id` may start. */
  waitMs(id: number, now: number): number {
    const last = this.#lastStart.get(this.#key(id));
    return last === undefined ? 0 : Math.max(0, last + this.intervalMs - now);
  }

  started(id: number, now: number): void {
    this.#lastStart.set(this.#key(id), now);
  }

  #key(id: number): number {
    return id % Math.max(1, this.maxConcurrency);
  }
}

/** A shard that dies before it is ready this many times in a row will not come up by itself (a lock held, a reset token): the manager stops. */
export const MAX_FAILED_STARTS = 5;

const FIRST_RESPAWN_MS = 500; // discord.js's own respawn delay
const LONGEST_RESPAWN_MS = 30_000;

/**
 * How long to wait before spawning a shard again after its `failures`-th death in a row
 * (counted since it was last ready): 0.5 s, then doubling. discord.js's own respawn spawns at
 * once and forever, which for a shard refused at every start (a reset token, 4004) would be
 * a tight loop of IDENTIFYs, each spending one of the day's 1000 session starts.
 */
export function respawnDelayMs(failures: number): number {
  // No jitter: one shard, and the wait must stay exactly discord.js's 0.5 s at first.
  return backoffDelay(Math.max(1, failures), FIRST_RESPAWN_MS, null, LONGEST_RESPAWN_MS);
}
