/**
 * Live updates for the web page over Server-Sent Events: each open page gets what it shows,
 * as JSON, once at once and then whenever it changed, checked every CHECK_MS (within 2 s of
 * a change, as the README promises). A session that ends (signed out, expired, or the bot
 * restarted and forgot it) gets an `ended` event and the stream closes; a transfer that went
 * away, `gone`.
 *
 * How many are open is bounded per member, whatever number of sessions they hold, and in all.
 * When all are taken, a member holding fewer than the biggest holder (by two or more) still
 * gets one: that holder's oldest stream makes room, ending with a `crowded` event. So no
 * member, however many links they redeem, can keep another from live updates.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const CHECK_MS = 500;

export interface StreamLimits {
  /** A page holds one stream; a member with more than a few tabs is a runaway script or an attack. */
  perMember: number;
  total: number;
}

const STREAM_LIMITS: StreamLimits = { perMember: 16, total: 256 };

/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;

interface Stream {
  /** Ends it with `event`, then stops it. */
  end(event: string): void;
  /** Stops checking and forgets it (the response is left to whoever closes it). */
  stop(): void;
}

export class EventStreams {
  /** Each member's open streams, oldest first. */
  readonly #byMember = new Map<string, Stream[]>();
  #total = 0;

  /**
   * `sessionOf`: the live session a Cookie header names, as every other route finds it.
   * `limits`: STREAM_LIMITS but in tests.
   */
  constructor(
    private readonly sessionOf: (cookieHeader: string | undefined) => unknown,
    private readonly limits: StreamLimits = STREAM_LIMITS,
  ) {}

  /** Streams `produce()` (null: the thing shown is gone) to `memberId`'s page until the client leaves. */
  open(req: IncomingMessage, res: ServerResponse, memberId: string, produce: () => unknown): void {
    const refusal = this.#makeRoom(memberId);
    if (refusal) {
      res.writeHead(429, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '10' });
      res.end(`${refusal}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    let last = '';
    let quietSince = Date.now();
    const tick = () => {
      if (!this.sessionOf(req.headers.cookie)) {
        stream.end('ended');
        return;
      }
      const value = produce();
      if (value === null) {
        stream.end('gone');
        return;
      }
      const json = JSON.stringify(value);
      if (json !== last) {
        last = json;
        quietSince = Date.now();
        res.write(`data: ${json}\n\n`);
      } else if (Date.now() - quietSince > KEEP_ALIVE_MS) {
        quietSince = Date.now();
        res.write(': keep-alive\n\n');
      }
    };
    const timer = setInterval(tick, CHECK_MS);
    const stop = () => {
      const mine = this.#byMember.get(memberId) ?? [];
      const at = mine.indexOf(stream);
      if (at < 0) return;
      clearInterval(timer);
      mine.splice(at, 1);
      if (mine.length === 0) this.#byMember.delete(memberId);
      this.#total -= 1;
    };
    const stream: Stream = {
      end: (event) => {
        res.write(`event: ${event}\ndata: {}\n\n`);
        stop();
        res.end();
      },
      stop,
    };
    // Counted in the same synchronous step as the check in #makeRoom.
    const mine = this.#byMember.get(memberId);
    if (mine) mine.push(stream);
    else this.#byMember.set(memberId, [stream]);
    this.#total += 1;
    req.once('close', stop);
    tick();
  }

  /** Null when `memberId` may open one more stream now (another member's oldest may have made room); else why not. */
  #makeRoom(memberId: string): string | null {
    const mine = this.#byMember.get(memberId)?.length ?? 0;
    if (mine >= this.limits.perMember) return `too many live pages open (${mine}); close some`;
    if (this.#total < this.limits.total) return null;
    let biggest: Stream[] = [];
    for (const streams of this.#byMember.values()) if (streams.length > biggest.length) biggest = streams;
    // Taking from a holder only one ahead would merely swap who is ahead.
    if (biggest.length < mine + 2) return 'the bot has as many live pages open as it serves; try again later';
    biggest[0]!.end('crowded');
    return null;
  }

  close(): void {
    for (const streams of [...this.#byMember.values()]) for (const stream of [...streams]) stream.stop();
  }
}
