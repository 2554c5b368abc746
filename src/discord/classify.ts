/**
 * The one reading of what discord.js throws: whether asking again can help, and a label for
 * logs and metrics. The sink, the downloader and the progress message all decide from this,
 * in words of their own.
 */
import { DiscordAPIError, HTTPError } from 'discord.js';
import { messageOf, RequestTimeoutError, type SinkFailure } from '../errors.js';
import { isAbortError } from '../time/sleep.js';

export interface RestFailure {
  /** `transient`: worth another attempt; `too_large`: 413 / 40005; `fatal`: asking again cannot help; `aborted`: the caller's signal. */
  kind: SinkFailure;
  /** The label logs and `dfs_retries_total{reason}` carry: `http_500`, `timeout`, `network`, `too_large`, `aborted`. */
  reason: string;
  /** Discord's HTTP status, when it answered. */
  status: number | null;
  /** What happened, in a few words. */
  message: string;
}

/** Statuses that will not get better by asking again (429s are waited out by discord.js itself). */
const FATAL_STATUSES = new Set([400, 401, 403, 404]);

export function classifyRestError(error: unknown, signal?: AbortSignal): RestFailure {
  if (signal?.aborted) return { kind: 'aborted', reason: 'aborted', status: null, message: 'the request was aborted' };
  if (error instanceof DiscordAPIError) {
    const status = error.status;
    if (status === 413 || error.code === 40005)
      return { kind: 'too_large', reason: 'too_large', status, message: `Discord refused the request as too large (${error.message})` };
    if (status >= 500) return { kind: 'transient', reason: `http_${status}`, status, message: `Discord answered ${status} ${error.message}` };
    if (FATAL_STATUSES.has(status)) {
      return {
        kind: 'fatal',
        reason: `http_${status}`,
        status,
        message: `Discord refused the request: ${status} ${error.message} (code ${error.code})`,
      };
    }
    return { kind: 'transient', reason: `http_${status}`, status, message: `Discord answered ${status}: ${error.message}` };
  }
  if (error instanceof HTTPError) {
    const status = error.status;
    if (status === 413) return { kind: 'too_large', reason: 'too_large', status, message: 'Discord refused the request as too large' };
    const kind = status >= 500 || status === 408 ? 'transient' : 'fatal';
    return { kind, reason: `http_${status}`, status, message: `Discord answered ${status} ${error.message}` };
  }
  // discord.js forgets the token after a 401: every later request fails this way until a restart.
  if (error instanceof Error && error.message.startsWith('Expected token to be set')) {
    return { kind: 'fatal', reason: 'http_401', status: 401, message: 'Discord rejected DISCORD_TOKEN (401 Unauthorized)' };
  }
  if (error instanceof RequestTimeoutError) return { kind: 'transient', reason: 'timeout', status: null, message: error.message };
  // discord.js aborts its own request when its timeout passes; the caller's signal was checked above.
  if (isAbortError(error) || (error instanceof Error && error.name === 'TimeoutError')) {
    return { kind: 'transient', reason: 'timeout', status: null, message: 'Discord did not answer in time (UPLOAD_TIMEOUT_MS)' };
  }
  return { kind: 'transient', reason: 'network', status: null, message: `network error: ${describeNetworkError(error)}` };
}

/** undici hides the useful part (ECONNREFUSED, ECONNRESET) in `cause`. */
export function describeNetworkError(error: unknown): string {
  const message = messageOf(error);
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : '';
  return detail && !message.includes(detail) ? `${message} (${detail})` : message;
}
