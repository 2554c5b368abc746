/**
 * The path between a client and the fake Discord, as a schedule of bytes: an uplink of
 * `bytesPerSecond` shared fairly by the client's connections, released tick by tick; half
 * the round trip added to every byte on its way in and half on its way out, so a request and
 * its answer cost one round trip however many chunks they are; and `handshakeRtts` round
 * trips before a new connection's first byte (TCP, then TLS 1.3). Bytes queue here as they
 * are read from the client's socket, and the socket is paused while a connection has more
 * than a few ticks' worth waiting, so the client meets backpressure as on a real link.
 *
 * Pure but for the clock, which is injected: tests drive it by hand. link-proxy.ts puts it
 * between real sockets.
 */

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number; // ms
  after(ms: number, run: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  after: (ms, run) => {
    const timer = setTimeout(run, ms);
    return { cancel: () => clearTimeout(timer) };
  },
};

export interface LinkOptions {
  /** The uplink, shared by every connection; Infinity: no cap. */
  bytesPerSecond: number;
  rttMs: number;
  /** How often the uplink releases bytes; default 5 ms. */
  tickMs?: number;
  /** Round trips before a new connection's first byte arrives; default 2 (TCP, then TLS 1.3). */
  handshakeRtts?: number;
}

/** What a connection does with the bytes the link lets through. */
export interface ConnectionEnds {
  toServer(chunk: Buffer): void;
  toClient(chunk: Buffer): void;
  endToServer(): void;
  endToClient(): void;
  /** Stop and start reading the client's socket: the uplink's backpressure. */
  pauseClient(): void;
  resumeClient(): void;
}

const END = null;
type Item = Buffer | typeof END;

/** Delivers items a fixed time after they were pushed, in order. */
class DelayLine {
  readonly #items: { at: number; item: Item }[] = [];
  #timer: Timer | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly delayMs: number,
    private readonly deliver: (item: Item) => void,
  ) {}

  push(item: Item): void {
    if (this.delayMs <= 0 && this.#items.length === 0) return this.deliver(item);
    this.#items.push({ at: this.clock.now() + this.delayMs, item });
    this.#arm();
  }

  cancel(): void {
    this.#timer?.cancel();
    this.#timer = null;
    this.#items.length = 0;
  }

  #arm(): void {
    if (this.#timer !== null || this.#items.length === 0) return;
    this.#timer = this.clock.after(Math.max(0, this.#items[0]!.at - this.clock.now()), () => {
      this.#timer = null;
      const now = this.clock.now();
      // Bounded by the items queued when the timer fired.
      for (let n = this.#items.length; n > 0 && this.#items.length > 0 && this.#items[0]!.at <= now; n--) this.deliver(this.#items.shift()!.item);
      this.#arm();
    });
  }
}

export class LinkConnection {
  readonly #queue: Buffer[] = [];
  #queued = 0; // bytes read from the client, not yet released
  #ended = false;
  #paused = false;
  #blocked = false;
  #closed = false;
  readonly #up: DelayLine;
  readonly #down: DelayLine;

  constructor(
    private readonly link: Link,
    private readonly ends: ConnectionEnds,
    /** When the handshakes are over and the first byte may go. */
    readonly openAt: number,
  ) {
    const oneWay = link.options.rttMs / 2;
    this.#up = new DelayLine(link.clock, oneWay, (item) => (item === END ? ends.endToServer() : ends.toServer(item)));
    this.#down = new DelayLine(link.clock, oneWay, (item) => (item === END ? ends.endToClient() : ends.toClient(item)));
  }

  /** Bytes waiting for the uplink. */
  get queued(): number {
    return this.#queued;
  }

  /** Bytes queued that the uplink may take once the handshake is over. */
  get waiting(): boolean {
    return !this.#closed && !this.#blocked && this.#queued > 0;
  }

  /** Whether the uplink may release bytes of this connection now. */
  ready(now: number): boolean {
    return !this.#closed && !this.#blocked && this.#queued > 0 && now >= this.openAt;
  }

  fromClient(chunk: Buffer): void {
    if (this.#closed || chunk.length === 0) return;
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (!this.#paused && this.#queued >= this.link.highWater) {
      this.#paused = true;
      this.ends.pauseClient();
    }
    this.link.wake();
  }

  endFromClient(): void {
    this.#ended = true;
    if (this.#queued === 0) this.#up.push(END);
  }

  fromServer(chunk: Buffer): void {
    if (!this.#closed) this.#down.push(chunk);
  }

  endFromServer(): void {
    if (!this.#closed) this.#down.push(END);
  }

  /** The server's socket is full (or drained): release nothing to it meanwhile. */
  serverBlocked(blocked: boolean): void {
    this.#blocked = blocked;
    if (!blocked) this.link.wake();
  }

  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
    this.#queued = 0;
    this.#up.cancel();
    this.#down.cancel();
    this.link.forget(this);
  }

  /** Lets `bytes` of the queue through the uplink; they arrive half a round trip later. */
  release(bytes: number): void {
    for (let left = bytes; left > 0 && this.#queue.length > 0;) {
      const head = this.#queue[0]!;
      const piece = head.length <= left ? head : head.subarray(0, left);
      if (piece === head) this.#queue.shift();
      else this.#queue[0] = head.subarray(left);
      left -= piece.length;
      this.#queued -= piece.length;
      this.#up.push(piece);
    }
    if (this.#paused && this.#queued <= this.link.highWater / 2) {
      this.#paused = false;
      this.ends.resumeClient();
    }
    if (this.#ended && this.#queued === 0) this.#up.push(END);
  }
}

export class Link {
  readonly tickMs: number;
  /** Bytes a connection may have waiting before its client is paused: a few ticks' worth, at least 64 KiB. */
  readonly highWater: number;
  readonly #connections = new Set<LinkConnection>();
  #timer: Timer | null = null;
  #timerAt = 0; // ms
  /** Some connection had bytes to send since the last tick: that interval's budget counts. */
  #busy = false;
  #last = 0; // ms: the last tick
  #carry = 0; // bytes of budget the last tick could not hand out evenly

  constructor(
    readonly options: LinkOptions,
    readonly clock: Clock = systemClock,
  ) {
    this.tickMs = options.tickMs ?? 5;
    const perTick = this.#capped ? (options.bytesPerSecond * this.tickMs) / 1000 : 0;
    this.highWater = Math.max(64 * 1024, Math.ceil(4 * perTick));
  }

  get #capped(): boolean {
    return Number.isFinite(this.options.bytesPerSecond);
  }

  open(ends: ConnectionEnds): LinkConnection {
    const handshake = (this.options.handshakeRtts ?? 2) * this.options.rttMs;
    const connection = new LinkConnection(this, ends, this.clock.now() + handshake);
    this.#connections.add(connection);
    return connection;
  }

  forget(connection: LinkConnection): void {
    this.#connections.delete(connection);
  }

  /** Bytes were queued or a connection unblocked: make sure a tick comes soon enough. */
  wake(): void {
    const now = this.clock.now();
    if (!this.#capped) return this.#tick();
    if (this.#timer !== null && this.#timerAt <= now + this.tickMs) return;
    if (!this.#busy) {
      // An idle link banks nothing: the budget counts from now.
      this.#last = now;
      this.#carry = 0;
      this.#busy = this.#ready(now).length > 0;
    }
    this.#schedule(now);
  }

  #ready(now: number): LinkConnection[] {
    return [...this.#connections].filter((c) => c.ready(now));
  }

  /** The next tick: one tick on while bytes flow, else when the next handshake ends. */
  #schedule(now: number): void {
    this.#timer?.cancel();
    this.#timer = null;
    let at: number;
    if (this.#busy && this.#capped) at = now + this.tickMs;
    else {
      const opening = [...this.#connections].filter((c) => c.waiting && c.openAt > now);
      if (opening.length === 0) return;
      at = Math.min(...opening.map((c) => c.openAt));
    }
    this.#timerAt = at;
    this.#timer = this.clock.after(at - now, () => {
      this.#timer = null;
      this.#tick();
    });
  }

  /** One tick: the budget since the last one, shared fairly among the connections with bytes waiting. */
  #tick(): void {
    const now = this.clock.now();
    // Smallest first, each an equal share of what is left: max-min fairness.
    const ready = this.#ready(now).sort((a, b) => a.queued - b.queued);
    if (!this.#capped) {
      for (const c of ready) c.release(c.queued);
    } else if (this.#busy) {
      let budget = this.#carry + ((now - this.#last) * this.options.bytesPerSecond) / 1000;
      ready.forEach((c, i) => {
        const give = Math.min(c.queued, Math.floor(budget / (ready.length - i)));
        budget -= give;
        c.release(give);
      });
      this.#carry = budget;
    }
    this.#last = now;
    this.#busy = this.#ready(now).length > 0;
    if (!this.#busy) this.#carry = 0;
    this.#schedule(now);
  }
}
