/**
 * Live updates for the web page over Server-Sent Events: each open page gets what it shows,
 * as JSON, once at once and then whenever it changed, checked every CHECK_MS (SPEC: within
 * 2 s of a change). A session that ends (expired, or the bot restarted and forgot it) gets an
 * `ended` event and the stream closes; a transfer that went away, `gone`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SECURITY_HEADERS } from './http.js';

const CHECK_MS = 500;
/** Open streams per session, and in all: a page holds one; more is a runaway script or an attack. */
const MAX_PER_SESSION = 16;
const MAX_OPEN = 256;
/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;

export class EventStreams {
  readonly #open = new Set<() => void>();
  readonly #perSession = new Map<string, number>();

  /** `sessionOf`: the live session a Cookie header names, as every other route finds it. */
  constructor(private readonly sessionOf: (cookieHeader: string | undefined) => unknown) {}

  /** Streams `produce()` (null: the thing shown is gone) until the client leaves. */
  open(req: IncomingMessage, res: ServerResponse, sessionId: string, produce: () => unknown): void {
    const mine = this.#perSession.get(sessionId) ?? 0;
    if (mine >= MAX_PER_SESSION || this.#open.size >= MAX_OPEN) {
      res.writeHead(429, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '10' });
      res.end('too many live pages open; close some\n');
      return;
    }
    this.#perSession.set(sessionId, mine + 1);
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    let last = '';
    let quietSince = Date.now();
    const end = (event: string) => {
      res.write(`event: ${event}\ndata: {}\n\n`);
      stop();
      res.end();
    };
    const tick = () => {
      if (!this.sessionOf(req.headers.cookie)) {
        end('ended');
        return;
      }
      const value = produce();
      if (value === null) {
        end('gone');
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
      if (!this.#open.delete(stop)) return;
      clearInterval(timer);
      const left = (this.#perSession.get(sessionId) ?? 1) - 1;
      if (left > 0) this.#perSession.set(sessionId, left);
      else this.#perSession.delete(sessionId);
    };
    this.#open.add(stop);
    req.once('close', stop);
    tick();
  }

  close(): void {
    for (const stop of [...this.#open]) stop();
  }
}
