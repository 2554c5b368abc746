/**
 * One pace for every message the sink posts, whichever REST client sends it: at most `limit`
 * requests in any `windowMs` (Discord's global limit, 50 a second per bot; docs,
 * topics/rate-limits). discord.js keeps that count per REST client, and the bot has
 * 1 + MAX_PARALLEL_UPLOADS of them (src/discord/client.ts), so alone they could send several
 * times the limit between them.
 *
 * A message takes its place when its last bytes go (when Discord counts it), and a message
 * sent again after a 429 takes another.
 */
import { abortReason, sleep as realSleep, type Sleep } from '../time/sleep.js';

/** Discord's global limit: requests a second, for the whole bot. */
export const GLOBAL_REQUESTS_PER_SECOND = 50;

export interface RequestPaceOptions {
  limit?: number;
  windowMs?: number; // ms
  now?: () => number;
  sleep?: Sleep;
}

export class RequestPace {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #sleep: Sleep;
  /** When each of the last `limit` requests went, oldest first. */
  readonly #sent: number[] = [];

  constructor(options: RequestPaceOptions = {}) {
    this.#limit = options.limit ?? GLOBAL_REQUESTS_PER_SECOND;
    this.#windowMs = options.windowMs ?? 1_000;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? realSleep;
  }

  /** Waits until one more request keeps the pace, and counts it; any of `signals` stops the wait. */
  async acquire(...signals: (AbortSignal | undefined)[]): Promise<void> {
    // Bounded: every round sleeps until the oldest request leaves the window, and requests are finitely many.
    for (let round = 0; round < 1_000_000; round++) {
      const stopped = signals.find((s) => s?.aborted);
      if (stopped) throw abortReason(stopped);
      const now = this.#now();
      while (this.#sent.length > 0 && this.#sent[0]! <= now - this.#windowMs) this.#sent.shift();
      if (this.#sent.length < this.#limit) {
        this.#sent.push(now);
        return;
      }
      await this.#wait(this.#sent[0]! + this.#windowMs - now, signals);
    }
    throw new Error('the request pace did not free up');
  }

  async #wait(ms: number, signals: (AbortSignal | undefined)[]): Promise<void> {
    const timer = new AbortController();
    const follow = () => timer.abort();
    for (const s of signals) s?.addEventListener('abort', follow, { once: true });
    try {
      await this.#sleep(ms, timer.signal).catch(() => undefined);
    } finally {
      for (const s of signals) s?.removeEventListener('abort', follow);
    }
  }
}
