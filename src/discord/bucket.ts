/**
 * Each channel's message-create bucket as the bot knows it from Discord's answers
 * (`X-RateLimit-Limit`, `-Remaining`, `-Reset-After`; docs, topics/rate-limits), so that a
 * message waits *before* its last bytes go rather than meeting a 429 after a whole upload.
 *
 * discord.js keeps such a count too, but per REST client and for requests it sends one at a
 * time; here a message's body streams while the one before is still being created, on
 * another client, so the count is kept once per channel for all of them. A message holds a
 * slot from the moment its last bytes go (when Discord counts it) until its answer says how
 * many are left, and a message that got no answer counts as sent. Every estimate errs towards
 * waiting: the reset is timed from when the answer arrived, plus a margin, and until it has
 * passed an answer can only lower the count.
 */
import { abortReason, sleep as realSleep, type Sleep } from '../time/sleep.js';

/** Waited beyond each reset: the answer's rounding and the clocks' tick. */
const RESET_MARGIN_MS = 30; // ms
/** While every slot is held and no reset is known, look again this often (a settle wakes it sooner). */
const RECHECK_MS = 1_000; // ms

export interface RateLimitHeaders {
  limit: number | null;
  remaining: number;
  resetAfterMs: number;
}

/** The bucket headers of an answer, or null when it carries none. */
export function readRateLimitHeaders(get: (name: string) => string | null | undefined): RateLimitHeaders | null {
  const remaining = Number(get('x-ratelimit-remaining') ?? Number.NaN);
  const resetAfter = Number(get('x-ratelimit-reset-after') ?? Number.NaN);
  if (!Number.isFinite(remaining) || !Number.isFinite(resetAfter)) return null;
  const limit = Number(get('x-ratelimit-limit') ?? Number.NaN);
  return { limit: Number.isFinite(limit) ? limit : null, remaining, resetAfterMs: resetAfter * 1000 };
}

/** One message's place in its channel's bucket. */
export interface BucketSlot {
  /** Its answer (or none: it counts as sent); harmless a second time. */
  settle(headers: RateLimitHeaders | null): void;
}

interface ChannelBucket {
  limit: number | null;
  /** Null until an answer said. */
  remaining: number | null;
  resetAt: number; // ms, this process's clock, margin included
  /** Slots taken whose answer has not come. */
  held: number;
  /** Woken on every settle. */
  wake: () => void;
  changed: Promise<void>;
}

export interface MessageBucketsOptions {
  now?: () => number;
  sleep?: Sleep;
  /** Told once per message that has to wait, and for how long (ms, at first sight). */
  onWait?: ((channelId: string, ms: number) => void) | undefined;
}

export class MessageBuckets {
  readonly #channels = new Map<string, ChannelBucket>();
  readonly #now: () => number;
  readonly #sleep: Sleep;
  readonly #onWait: ((channelId: string, ms: number) => void) | undefined;

  constructor(options: MessageBucketsOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? realSleep;
    this.#onWait = options.onWait;
  }

  /** Waits until one more message may be completed in the channel, and takes its slot; any of `signals` stops the wait. */
  async acquire(channelId: string, ...signals: (AbortSignal | undefined)[]): Promise<BucketSlot> {
    const bucket = this.#bucket(channelId);
    // Bounded: every round sleeps until a reset or a settle, and a bucket's windows pass.
    for (let round = 0; round < 100_000; round++) {
      const stopped = signals.find((s) => s?.aborted);
      if (stopped) throw abortReason(stopped);
      const wait = this.#wait(bucket, this.#now());
      if (wait === 0) {
        bucket.held++;
        return this.#slot(bucket);
      }
      if (round === 0) this.#onWait?.(channelId, wait);
      const changed = bucket.changed;
      const timer = new AbortController();
      const follow = () => timer.abort();
      for (const s of signals) s?.addEventListener('abort', follow, { once: true });
      try {
        await Promise.race([this.#sleep(wait, timer.signal).catch(() => undefined), changed]);
      } finally {
        timer.abort();
        for (const s of signals) s?.removeEventListener('abort', follow);
      }
    }
    throw new Error(`the message bucket of channel ${channelId} did not free up`);
  }

  /** What the bot knows of a channel's bucket (tests, logs). */
  state(channelId: string): { limit: number | null; remaining: number | null; resetAt: number; held: number } {
    const { limit, remaining, resetAt, held } = this.#bucket(channelId);
    return { limit, remaining, resetAt, held };
  }

  /** How soon a message could take a slot in the channel (ms; 0: now), as far as the bot knows. */
  readyIn(channelId: string): number {
    return this.#wait(this.#bucket(channelId), this.#now());
  }

  /** 0 when a slot is free now; else how long to wait before looking again. */
  #wait(bucket: ChannelBucket, now: number): number {
    // Nothing known yet: one at a time until an answer says more.
    if (bucket.remaining === null) return bucket.held === 0 ? 0 : RECHECK_MS;
    const windowOver = now >= bucket.resetAt;
    const left = (windowOver ? (bucket.limit ?? 1) : bucket.remaining) - bucket.held;
    if (left >= 1) return 0;
    return windowOver ? RECHECK_MS : bucket.resetAt - now;
  }

  #slot(bucket: ChannelBucket): BucketSlot {
    let settled = false;
    return {
      settle: (headers) => {
        if (settled) return;
        settled = true;
        bucket.held--;
        const now = this.#now();
        if (headers) this.#learn(bucket, headers, now);
        else if (bucket.remaining !== null && now < bucket.resetAt) bucket.remaining = Math.max(0, bucket.remaining - 1);
        bucket.wake();
      },
    };
  }

  /**
   * An answer's headers. Until the known window has ended an answer can only lower what is
   * left (answers arrive late and out of order: one that looks later may be older); after it,
   * the answer describes the window now running.
   */
  #learn(bucket: ChannelBucket, headers: RateLimitHeaders, now: number): void {
    const resetAt = now + headers.resetAfterMs + RESET_MARGIN_MS;
    if (bucket.remaining === null || now >= bucket.resetAt) {
      bucket.remaining = headers.remaining;
      bucket.resetAt = resetAt;
    } else {
      bucket.remaining = Math.min(bucket.remaining, headers.remaining);
      bucket.resetAt = Math.max(bucket.resetAt, resetAt);
    }
    if (headers.limit !== null) bucket.limit = headers.limit;
  }

  #bucket(channelId: string): ChannelBucket {
    let bucket = this.#channels.get(channelId);
    if (!bucket) {
      const fresh: ChannelBucket = { limit: null, remaining: null, resetAt: 0, held: 0, wake: () => undefined, changed: Promise.resolve() };
      const arm = () => {
        fresh.changed = new Promise<void>((resolve) => {
          fresh.wake = () => {
            arm();
            resolve();
          };
        });
      };
      arm();
      bucket = fresh;
      this.#channels.set(channelId, bucket);
    }
    return bucket;
  }
}
