/**
 * The download's pace (`URL_MIN_BYTES_PER_SECOND` over `URL_LOW_SPEED_WINDOW_MS`): a server
 * that trickles bytes, or goes silent after the headers, would otherwise hold a transfer and
 * its socket for ever. The headers have their own deadline (request.ts); from the body on,
 * this reader judges the speed, counting only the time spent waiting for the server.
 */
import type { IncomingMessage } from 'node:http';
import { LowSpeedError } from '../../errors.js';

/** The configured download limits (config.ts), as openUrl and the URL part source take them. */
export function urlLimits(config: {
  URL_HEADERS_TIMEOUT_MS: number;
  URL_MIN_BYTES_PER_SECOND: number;
  URL_LOW_SPEED_WINDOW_MS: number;
}): SpeedLimit & { headersTimeoutMs: number } {
  return {
    headersTimeoutMs: config.URL_HEADERS_TIMEOUT_MS,
    minBytesPerSecond: config.URL_MIN_BYTES_PER_SECOND,
    lowSpeedWindowMs: config.URL_LOW_SPEED_WINDOW_MS,
  };
}

export interface SpeedLimit {
  /** URL_MIN_BYTES_PER_SECOND */
  minBytesPerSecond: number;
  /** URL_LOW_SPEED_WINDOW_MS: the speed is averaged over this much time spent waiting. */
  lowSpeedWindowMs: number;
}

/**
 * The response body's chunks, failing with LowSpeedError when a window of waiting for the
 * server brings fewer bytes than the minimum speed asks for (silence included). Only time
 * spent waiting for the next chunk counts: while the caller uploads parts it does not read,
 * the socket is paused, and that is not the server's doing.
 */
export async function* readAtMinimumSpeed(response: IncomingMessage, limit: SpeedLimit): AsyncGenerator<Buffer> {
  const { minBytesPerSecond, lowSpeedWindowMs: windowMs } = limit;
  const needed = (minBytesPerSecond * windowMs) / 1000; // bytes per window
  const chunks = response[Symbol.asyncIterator]();
  let waited = 0; // ms of the current window spent waiting
  let received = 0; // bytes that arrived in the current window
  // Ends the window: too few bytes fail the download, enough start the next window.
  const endWindow = (): LowSpeedError | null => {
    const slow = received < needed ? new LowSpeedError(received, windowMs, minBytesPerSecond) : null;
    waited = 0;
    received = 0;
    return slow;
  };
  try {
    // Bounded by the body: each turn consumes one chunk, ends, or fails.
    for (;;) {
      let since = performance.now();
      let timer: NodeJS.Timeout;
      const onWindowEnd = () => {
        const slow = endWindow();
        if (slow) return void response.destroy(slow);
        since = performance.now();
        timer = setTimeout(onWindowEnd, windowMs);
      };
      timer = setTimeout(onWindowEnd, windowMs - waited);
      let next: IteratorResult<unknown>;
      try {
        next = await chunks.next();
      } finally {
        clearTimeout(timer);
      }
      if (next.done) return;
      const chunk = next.value as Buffer;
      waited += performance.now() - since;
      received += chunk.length;
      if (waited >= windowMs) {
        const slow = endWindow();
        if (slow) throw slow;
      }
      yield chunk;
    }
  } finally {
    await chunks.return?.();
  }
}
