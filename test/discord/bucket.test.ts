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

  it('GIVEN answers out of order or late THEN until the known reset has passed they only lower what is left; after it, an answer tells the new window', async () => {
    const { buckets, clock } = bed();
    const slots: BucketSlot[] = [];
    slots.push(await buckets.acquire(CHANNEL));
    slots[0]!.settle({ limit: 5, remaining: 4, resetAfterMs: 5_000 });
    for (let i = 0; i < 3; i++) slots.push(await buckets.acquire(CHANNEL));
    clock.t += 300;
    slots[2]!.settle({ limit: 5, remaining: 2, resetAfterMs: 4_700 });
    // Older, and read 400 ms late (a busy event loop): its reset looks later, its count is stale.
    clock.t += 400;
    slots[1]!.settle({ limit: 5, remaining: 3, resetAfterMs: 4_700 });
    expect(buckets.state(CHANNEL)).toMatchObject({ remaining: 2, held: 1 });
    expect(buckets.state(CHANNEL).resetAt).toBe(1_000_000 + 700 + 4_700 + 30);
    clock.t += 5_000;
    // The known window has ended: this answer is of the one now running.
    (await buckets.acquire(CHANNEL)).settle({ limit: 5, remaining: 4, resetAfterMs: 5_000 });
    expect(buckets.state(CHANNEL)).toMatchObject({ remaining: 4, resetAt: clock.t + 5_030, held: 1 });
    // The last slot of the first window answers late: it can only lower the count.
    slots[3]!.settle({ limit: 5, remaining: 1, resetAfterMs: 0 });
    expect(buckets.state(CHANNEL)).toMatchObject({ remaining: 1, resetAt: clock.t + 5_030, held: 0 });
  });

  it('GIVEN an answer read late (its reset looks later) THEN the next answer of the window, read at once, still lowers the count', async () => {
    const { buckets, clock, settled } = bed();
    (await buckets.acquire(CHANNEL)).settle({ limit: 5, remaining: 2, resetAfterMs: 3_000 });
    const late = await buckets.acquire(CHANNEL);
    const prompt = await buckets.acquire(CHANNEL);
    // Read 200 ms after it was sent (a busy event loop): its reset looks 200 ms later than it is.
    clock.t += 500;
    late.settle({ limit: 5, remaining: 1, resetAfterMs: 2_800 });
    // Sent later, read at once.
    clock.t += 10;
    prompt.settle({ limit: 5, remaining: 0, resetAfterMs: 2_590 });
    expect(buckets.state(CHANNEL).remaining).toBe(0);
    expect(await settled(buckets.acquire(CHANNEL))).toBe(false);
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
