/** One pace for every message the sink posts (src/discord/pace.ts), under a clock moved by hand. */
import { describe, expect, it } from 'vitest';
import { GLOBAL_REQUESTS_PER_SECOND, RequestPace } from '../../src/discord/pace.js';

function bed(limit?: number) {
  const clock = { t: 5_000_000 };
  const sleeps: { ms: number; wake: () => void }[] = [];
  const pace = new RequestPace({
    ...(limit === undefined ? {} : { limit }),
    now: () => clock.t,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        sleeps.push({ ms, wake: resolve });
        signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      }),
  });
  const settled = async (p: Promise<unknown>) => {
    let done = false;
    void p.then(
      () => (done = true),
      () => (done = true),
    );
    for (let i = 0; i < 10; i++) await Promise.resolve();
    return done;
  };
  return { clock, sleeps, pace, settled };
}

describe('the request pace', () => {
  it('GIVEN the default THEN 50 requests go at once and the 51st waits until the first has left the second', async () => {
    const { clock, sleeps, pace, settled } = bed();
    expect(GLOBAL_REQUESTS_PER_SECOND).toBe(50);
    for (let i = 0; i < 50; i++) await pace.acquire();
    const next = pace.acquire();
    expect(await settled(next)).toBe(false);
    expect(sleeps.map((s) => s.ms)).toEqual([1_000]);
    clock.t += 1_000;
    sleeps.shift()!.wake();
    expect(await settled(next)).toBe(true);
  });

  it('GIVEN requests spread over time THEN a window never holds more than the limit', async () => {
    const { clock, sleeps, pace, settled } = bed(3);
    const sent: number[] = [];
    for (let i = 0; i < 12; i++) {
      const p = pace.acquire();
      // Bounded: each sleep moves the clock forward by what it asked.
      for (let round = 0; round < 10 && !(await settled(p)); round++) {
        const s = sleeps.shift()!;
        clock.t += s.ms;
        s.wake();
      }
      await p;
      sent.push(clock.t);
      clock.t += 100;
    }
    for (const t of sent) expect(sent.filter((u) => u > t - 1_000 && u <= t).length).toBeLessThanOrEqual(3);
    expect(sent.at(-1)! - sent[0]!).toBeGreaterThanOrEqual(3_000);
  });

  it('GIVEN a wait WHEN its signal aborts THEN the wait ends with the abort and takes no place', async () => {
    const { pace, settled, sleeps, clock } = bed(1);
    await pace.acquire();
    const stop = new AbortController();
    const waiting = pace.acquire(stop.signal);
    expect(await settled(waiting)).toBe(false);
    stop.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
    expect(sleeps).toHaveLength(1);
    clock.t += 1_000;
    await pace.acquire();
  });
});
