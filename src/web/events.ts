/**
 * Live updates for the web page over Server-Sent Events: each open page gets what it shows,
 * as JSON, once at once and then whenever it changed, checked every CHECK_MS (SPEC: within
 * 2 s of a change). A session that ends (expired, or the bot restarted and forgot it) gets an
 * `ended` event and the stream closes; a transfer that went away, `gone`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebAuth } from './auth.js';
import { SECURITY_HEADERS } from './http.js';

const CHECK_MS = 500;
/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;

export class EventStreams {
  readonly #open = new Set<() => void>();

  constructor(private readonly auth: WebAuth) {}

  /** Streams `produce()` (null: the thing shown is gone) until the client leaves. */
  open(req: IncomingMessage, res: ServerResponse, produce: () => unknown): void {
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    let last = '';
    let quietSince = Date.now();
    const end = (event: string) => {
      res.write(`event: ${event}\ndata: {}\n\n`);
      stop();
      res.end();
    };
    const tick = () => {
      if (!this.auth.session(req.headers.cookie)) {
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
      clearInterval(timer);
      this.#open.delete(stop);
    };
    this.#open.add(stop);
    req.once('close', stop);
    tick();
  }

  close(): void {
    for (const stop of [...this.#open]) stop();
  }
}
