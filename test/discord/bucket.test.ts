/** The bot's view of each channel's message bucket (src/discord/bucket.ts), under a clock moved by hand. */
import { describe, expect, it } from 'vitest';
import { MessageBuckets, readRateLimitHeaders, type BucketSlot } from '../../src/discord/bucket.js';

const CHANNEL = '300000000000000001';

function bed() {
  const clock = { t: 1_000_000 };
  const sleeps: { ms: number; wake: () => void }[] = [];
  const waits: number[] = [];
  const buckets = new MessageBuckets({
    now: () => clock.t,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        sleeps.push({ ms, wake: resolve });
        signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      }),
    onWait: (_channel, ms) => waits.push(ms),
  });
  /** Whether `p` has settled once pending callbacks ran. */
  const settled = async (p: Promise<unknown>) => {
    let done = false;
    void p.then(
      () => (done = true),
      () => (done = true),
    );
    for (let i = 0; i < 10; i++) await Promise.resolve();
    return done;
  };
  /** Moves the clock to the end of the oldest sleep and ends it. */
  const passSleep = () => {
    const s = sleeps.shift()!;
    clock.t += s.ms;
    s.wake();
  };
  return { clock, sleeps, waits, buckets, settled, passSleep };
}

describe("the bot's message buckets", () => {
  it('GIVEN nothing known of a channel THEN one message at a time, until its answer says how many are left', async () => {
    const { buckets, settled } = bed();
    const first = await buckets.acquire(CHANNEL);
    const second = buckets.acquire(CHANNEL);
    expect(await settled(second)).toBe(false);
    first.settle({ limit: 5, remaining: 3, resetAfterMs: 4_000 });
    expect(await settled(second)).toBe(true);
    // 3 left, 1 held: two more may go at once.
    await buckets.acquire(CHANNEL);
    await buckets.acquire(CHANNEL);
    expect(buckets.state(CHANNEL)).toMatchObject({ remaining: 3, held: 3 });
  });

  it('GIVEN an answer with Remaining 0 and Reset-After 4 s THEN the next message waits until the reset plus a margin, then goes, and the window is full again', async () => {
    const { buckets, settled, waits, sleeps, passSleep, clock } = bed();
    (await buckets.acquire(CHANNEL)).settle({ limit: 5, remaining: 0, resetAfterMs: 4_000 });
    const next = buckets.acquire(CHANNEL);
    expect(await settled(next)).toBe(false);
    expect(waits).toEqual([4_030]);
    expect(sleeps.map((s) => s.ms)).toEqual([4_030]);
    passSleep();
    expect(await settled(next)).toBe(true);
    expect(clock.t).toBe(1_004_030);
    // A new window: the limit, less the one now held.
    for (let i = 0; i < 4; i++) await buckets.acquire(CHANNEL);
    expect(await settled(buckets.acquire(CHANNEL))).toBe(false);
  });

  it('GIVEN answers of one window out of order THEN they only lower what is left, and an answer of an earlier window is ignored', async () => {
    const { buckets, clock } = bed();
    const slots: BucketSlot[] = [];
    slots.push(await buckets.acquire(CHANNEL));
    slots[0]!.settle({ limit: 5, remaining: 4, resetAfterMs: 5_000 });
    for (let i = 0; i < 3; i++) slots.push(await buckets.acquire(CHANNEL));
    clock.t += 300;
    slots[2]!.settle({ limit: 5, remaining: 2, resetAfterMs: 4_700 });
    slots[1]!.settle({ limit: 5, remaining: 3, resetAfterMs: 4_700 });
    expect(buckets.state(CHANNEL)).toMatchObject({ remaining: 2, held: 1 });
    clock.t += 5_000;
    (await buckets.acquire(CHANNEL)).settle({ limit: 5, remaining: 4, resetAfterMs: 5_000 });
    const later = buckets.state(CHANNEL).resetAt;
    // The last slot of the first window answers late.
    slots[3]!.settle({ limit: 5, remaining: 1, resetAfterMs: 0 });
    expect(buckets.state(CHANNEL)).toMatchObject({ remaining: 4, resetAt: later, held: 0 });
  });

  it('GIVEN a message that got no answer THEN it counts as sent in the window', async () => {
    const { buckets } = bed();
    (await buckets.acquire(CHANNEL)).settle({ limit: 5, remaining: 2, resetAfterMs: 5_000 });
    (await buckets.acquire(CHANNEL)).settle(null);
    expect(buckets.state(CHANNEL)).toMatchObject({ remaining: 1, held: 0 });
  });

  it('GIVEN a waiting message WHEN its signal aborts THEN it stops waiting with the reason and holds nothing', async () => {
    const { buckets } = bed();
    (await buckets.acquire(CHANNEL)).settle({ limit: 5, remaining: 0, resetAfterMs: 4_000 });
    const stop = new AbortController();
    const waiting = buckets.acquire(CHANNEL, stop.signal);
    stop.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(buckets.state(CHANNEL).held).toBe(0);
  });

  it('GIVEN answer headers THEN the bucket fields are read, and an answer without them gives none', () => {
    const headers = new Headers({ 'X-RateLimit-Limit': '5', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset-After': '3.800' });
    expect(readRateLimitHeaders((n) => headers.get(n))).toEqual({ limit: 5, remaining: 0, resetAfterMs: 3_800 });
    expect(readRateLimitHeaders(() => undefined)).toBeNull();
  });
});
