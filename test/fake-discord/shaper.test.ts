/** The network model's schedule of bytes (network/shaper.ts) under a clock moved by hand: no wall time. */
import { describe, expect, it } from 'vitest';
import { Link, type Clock, type ConnectionEnds, type LinkOptions, type Timer } from '../support/fake-discord/network/shaper.js';

class FakeClock implements Clock {
  t = 0;
  readonly #timers: { at: number; run: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.t;
  }

  after(ms: number, run: () => void): Timer {
    const timer = { at: this.t + ms, run, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Runs every timer due up to `now + ms`, in time order, then stands at `now + ms`. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let n = 0; n < 100_000; n++) {
      const due = this.#timers.filter((x) => !x.cancelled && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers.splice(this.#timers.indexOf(due), 1);
      this.t = Math.max(this.t, due.at);
      due.run();
    }
    this.t = end;
  }
}

interface Seen {
  ends: ConnectionEnds;
  /** [time, bytes] of every delivery. */
  atServer: [number, Buffer][];
  atClient: [number, Buffer][];
  events: string[];
}

function observe(clock: FakeClock): Seen {
  const seen: Seen = { atServer: [], atClient: [], events: [], ends: undefined as unknown as ConnectionEnds };
  seen.ends = {
    toServer: (c) => seen.atServer.push([clock.now(), c]),
    toClient: (c) => seen.atClient.push([clock.now(), c]),
    endToServer: () => seen.events.push(`end→server@${clock.now()}`),
    endToClient: () => seen.events.push(`end→client@${clock.now()}`),
    pauseClient: () => seen.events.push(`pause@${clock.now()}`),
    resumeClient: () => seen.events.push(`resume@${clock.now()}`),
  };
  return seen;
}

const bytesBy = (deliveries: [number, Buffer][], t: number) => deliveries.filter(([at]) => at <= t).reduce((n, [, c]) => n + c.length, 0);
const counting = (n: number, from = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) % 256));

function link(options: Partial<LinkOptions>): { clock: FakeClock; link: Link } {
  const clock = new FakeClock();
  return { clock, link: new Link({ bytesPerSecond: 1000, rttMs: 0, tickMs: 10, handshakeRtts: 0, ...options }, clock) };
}

describe('the network model: uplink, latency and handshakes', () => {
  it('GIVEN a 1000 B/s uplink with 10 ms ticks WHEN 100 bytes are queued THEN 10 bytes are released per tick, in order', () => {
    const { clock, link: l } = link({});
    const seen = observe(clock);
    const c = l.open(seen.ends);
    const sent = counting(100);
    c.fromClient(sent);
    expect(bytesBy(seen.atServer, 0)).toBe(0);
    const perTick: number[] = [];
    for (let tick = 1; tick <= 11; tick++) {
      clock.advance(10);
      perTick.push(bytesBy(seen.atServer, clock.now()) - perTick.reduce((a, b) => a + b, 0));
    }
    expect(perTick).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 0]);
    expect(Buffer.concat(seen.atServer.map(([, b]) => b))).toEqual(sent);
  });

  it('GIVEN two connections with bytes queued THEN they share each tick, and once one is done the other gets the whole tick', () => {
    const { clock, link: l } = link({});
    const a = observe(clock);
    const b = observe(clock);
    l.open(a.ends).fromClient(counting(20));
    l.open(b.ends).fromClient(counting(100));
    const shares: [number, number][] = [];
    for (let tick = 1; tick <= 6; tick++) {
      clock.advance(10);
      shares.push([bytesBy(a.atServer, clock.now()), bytesBy(b.atServer, clock.now())]);
    }
    expect(shares).toEqual([
      [5, 5],
      [10, 10],
      [15, 15],
      [20, 20],
      [20, 30],
      [20, 40],
    ]);
  });

  it('GIVEN a 40 ms round trip THEN a request arrives half a round trip after it left the uplink and its answer half a round trip after it was sent: one round trip per exchange, not per chunk', () => {
    const { clock, link: l } = link({ bytesPerSecond: Number.POSITIVE_INFINITY, rttMs: 40 });
    const seen = observe(clock);
    const c = l.open(seen.ends);
    c.fromClient(counting(1000));
    clock.advance(1);
    c.fromClient(counting(1000, 1000));
    clock.advance(19);
    expect(seen.atServer.map(([t, b]) => [t, b.length])).toEqual([[20, 1000]]);
    clock.advance(1);
    expect(seen.atServer.map(([t, b]) => [t, b.length])).toEqual([
      [20, 1000],
      [21, 1000],
    ]);
    // The server answers as soon as the whole request is in.
    c.fromServer(Buffer.from('answer'));
    clock.advance(19);
    expect(seen.atClient).toEqual([]);
    clock.advance(1);
    expect(seen.atClient.map(([t, b]) => [t, b.toString()])).toEqual([[41, 'answer']]);
  });

  it('GIVEN a capped uplink and a round trip THEN the latency comes on top of the transmission, once', () => {
    const { clock, link: l } = link({ rttMs: 40 });
    const seen = observe(clock);
    l.open(seen.ends).fromClient(counting(20));
    clock.advance(100);
    // Released at the ticks of 10 and 20 ms, each 20 ms on its way.
    expect(seen.atServer.map(([t, b]) => [t, b.length])).toEqual([
      [30, 10],
      [40, 10],
    ]);
  });

  it('GIVEN a new connection THEN its first byte arrives after two handshake round trips and one way, and a later request on it waits for no handshake', () => {
    const { clock, link: l } = link({ bytesPerSecond: Number.POSITIVE_INFINITY, rttMs: 40, handshakeRtts: 2 });
    const seen = observe(clock);
    const c = l.open(seen.ends);
    c.fromClient(counting(10));
    clock.advance(99);
    expect(seen.atServer).toEqual([]);
    clock.advance(1);
    expect(seen.atServer.map(([t]) => t)).toEqual([100]);
    clock.advance(100);
    c.fromClient(counting(10));
    clock.advance(20);
    expect(seen.atServer.map(([t]) => t)).toEqual([100, 220]);
  });

  it('GIVEN a capped uplink and a new connection THEN the handshake banks no bandwidth: the first tick after it releases one tick of bytes', () => {
    const { clock, link: l } = link({ rttMs: 20, handshakeRtts: 2 });
    const seen = observe(clock);
    l.open(seen.ends).fromClient(counting(100));
    clock.advance(40);
    expect(bytesBy(seen.atServer, clock.now())).toBe(0);
    clock.advance(10 + 10);
    // Open at 40 ms, one tick (10 bytes) released at 50 ms, arriving 10 ms later.
    expect(seen.atServer.map(([t, b]) => [t, b.length])).toEqual([[60, 10]]);
  });

  it('GIVEN more than the high-water mark queued THEN the client is paused until the queue drains below half of it, and its end follows its last byte', () => {
    const { clock, link: l } = link({ bytesPerSecond: 10_000, tickMs: 10 });
    const seen = observe(clock);
    const c = l.open(seen.ends);
    expect(l.highWater).toBe(64 * 1024);
    c.fromClient(counting(40_000));
    expect(seen.events).toEqual([]);
    c.fromClient(counting(30_000));
    expect(seen.events).toEqual(['pause@0']);
    c.endFromClient();
    // 70,000 − 32,768 bytes at 100 bytes a tick: resumed at 3,730 ms.
    clock.advance(3_720);
    expect(seen.events).toEqual(['pause@0']);
    clock.advance(10);
    expect(seen.events).toEqual(['pause@0', 'resume@3730']);
    clock.advance(10_000);
    expect(bytesBy(seen.atServer, clock.now())).toBe(70_000);
    expect(seen.events).toEqual(['pause@0', 'resume@3730', 'end→server@7000']);
  });

  it('GIVEN the server side blocked THEN nothing is released to it, and the uplink picks up again once it drains', () => {
    const { clock, link: l } = link({});
    const seen = observe(clock);
    const c = l.open(seen.ends);
    c.serverBlocked(true);
    c.fromClient(counting(50));
    clock.advance(100);
    expect(seen.atServer).toEqual([]);
    c.serverBlocked(false);
    clock.advance(10);
    expect(bytesBy(seen.atServer, clock.now())).toBe(10);
  });
});
