/**
 * Every error the project throws on purpose, in one place, each with a stable `code` (as
 * got and @discordjs/rest do): logs carry it as `err.code`, and callers test the class or
 * the code, never the message text. `UserError` and its subclasses are safe to show to the
 * person who asked. What a file system call reported (`ENOSPC`, …) is kept as `errno`.
 *
 * Import them from here: the codes, the base class and the helpers every error shares are
 * in src/errors/base.ts, the progress store's errors in src/errors/store.ts, both re-exported.
 *
 * How a failure from Discord's REST API is read (retry or not) lives beside the Discord
 * code, in one function: src/discord/classify.ts.
 */

import { DfsError, findCause, messageOf, type ErrorCode } from './errors/base.js';

export * from './errors/base.js';
export * from './errors/store.js';

// ── What a user did, or asked for, that cannot be done ─────────────────────────────────

export class UserError extends DfsError {
  override readonly name: string = 'UserError';
  readonly code: ErrorCode = 'DFS_USER';
}

/** An age file's chunk failed authentication (or the file is cut short) at `offset`, so a caller can name the part it lies in. */
export class AgeChunkError extends UserError {
  override readonly name = 'AgeChunkError';
  override readonly code: ErrorCode = 'DFS_AGE_CHUNK';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** The URL or one of its redirects is refused by the rules of /upload; safe to show the user. */
export class UrlRefusedError extends UserError {
  override readonly name = 'UrlRefusedError';
  override readonly code = 'DFS_URL_REFUSED';
}

/** The environment did not validate; `problems` lists every bad key at once. */
export class ConfigError extends DfsError {
  override readonly name = 'ConfigError';
  readonly code = 'DFS_CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee .env.example for every key.`);
  }
}

// ── The bot process ──────────────────────────────────────────────────────────────────────

/** Discord closed the gateway with a code it documents as fatal: reconnecting cannot help. */
export class GatewayClosedError extends DfsError {
  override readonly name = 'GatewayClosedError';
  readonly code = 'DFS_GATEWAY_CLOSED';
  constructor(
    readonly closeCode: number,
    readonly meaning: string,
  ) {
    super(`Discord closed the gateway with ${closeCode}: ${meaning}`);
  }
}

/** Steps of the bot's stop that failed or ran out of time (`steps` names them); the process exits 1. */
export class ShutdownError extends DfsError {
  override readonly name = 'ShutdownError';
  readonly code = 'DFS_SHUTDOWN_UNCLEAN';
  constructor(
    readonly steps: string[],
    options?: { cause?: unknown },
  ) {
    super(`the stop was not clean: ${steps.join(', ')}`, options);
  }
}

/** A server of the bot (the web page, /metrics) cannot listen; the message names the key that sets the port. */
export class ListenError extends DfsError {
  override readonly name = 'ListenError';
  readonly code = 'DFS_LISTEN';
  constructor(
    readonly key: string,
    readonly port: number,
    readonly host: string,
    cause: unknown,
  ) {
    super(`${key} ${port}: cannot listen on ${host} (${messageOf(cause)})`, { cause });
  }
}

/** A step (of the bot's stop) did not finish within its share of the time allowed. */
export class DeadlineError extends DfsError {
  override readonly name = 'DeadlineError';
  readonly code = 'DFS_DEADLINE';
  constructor(
    readonly step: string,
    readonly ms: number,
  ) {
    super(`${step} did not finish within ${ms} ms`);
  }
}

/** The shard manager cannot start its shards or keep them running (the message says why); it exits 1. */
export class ShardingError extends DfsError {
  override readonly name = 'ShardingError';
  readonly code = 'DFS_SHARDING';
  constructor(message: string, options?: { cause?: unknown; status?: number | null }) {
    super(message, options);
    this.status = options?.status ?? null;
  }
  /** Discord's HTTP status, when the failure was its answer (401: the token). */
  readonly status: number | null;
}

// ── Moving parts ─────────────────────────────────────────────────────────────────────────

/**
 * How a sink failed, which decides what a run does next: `transient` is retried with
 * backoff, `too_large` and `fatal` end the transfer at once, `aborted` means the caller's
 * AbortSignal fired.
 */
export type SinkFailure = 'transient' | 'too_large' | 'fatal' | 'aborted';

/** A sink (Discord, a local folder) could not take a part; `reason` is the metrics label (`http_500`, `timeout`, `source_changed`, …). */
export class SinkError extends DfsError {
  override readonly name = 'SinkError';
  readonly code = 'DFS_SINK';
  constructor(
    message: string,
    readonly kind: SinkFailure,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Thrown by `retry` when it gives up; `attempts` is how many were made. */
export class RetryFailure extends DfsError {
  override readonly name = 'RetryFailure';
  readonly code = 'DFS_RETRY_EXHAUSTED';
  constructor(
    override readonly cause: unknown,
    readonly attempts: number,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** A request to Discord passed its time limit (UPLOAD_TIMEOUT_MS); the message says how far it got. Worth another attempt. */
export class RequestTimeoutError extends DfsError {
  override readonly name = 'RequestTimeoutError';
  readonly code = 'DFS_REQUEST_TIMEOUT';
}

/**
 * A message whose end was held back and must not be completed now (src/transfer/pipeline.ts):
 * a message before it has to be sent again, or the run stopped dispatching. Discord never
 * got its last bytes, so it was never created, and the try is not counted as an attempt.
 */
export class HeldBackError extends DfsError {
  override readonly name = 'HeldBackError';
  readonly code = 'DFS_HELD_BACK';
}

/** Whether `error`, or an error it was caused by, is a HeldBackError (discord.js and undici wrap it). */
export function heldBackIn(error: unknown): HeldBackError | null {
  return findCause(error, (e) => e instanceof HeldBackError);
}

/** The source file changed size while it was read, or a read failed twice. */
export class SourceReadError extends DfsError {
  override readonly name: string = 'SourceReadError';
  readonly code: ErrorCode = 'DFS_SOURCE_READ';
}

/** The file is not the one planned: modified since (mtime), so its parts would not match. */
export class SourceChangedError extends SourceReadError {
  override readonly name = 'SourceChangedError';
  override readonly code = 'DFS_SOURCE_CHANGED';
}

// ── URL sources (/upload) ────────────────────────────────────────────────────────────────

/** The server answered, but not with the file (4xx/5xx, or a redirect without Location). `url` is already shown without credentials or query. */
export class HttpStatusError extends DfsError {
  override readonly name = 'HttpStatusError';
  readonly code = 'DFS_URL_STATUS';
  constructor(
    readonly status: number,
    readonly url: string,
    shownUrl: string,
  ) {
    super(`${shownUrl} answered HTTP ${status}`);
  }
}

/** A hop's status line and headers did not all arrive in time, however busy the socket was. */
export class HeadersTimeoutError extends DfsError {
  override readonly name = 'HeadersTimeoutError';
  readonly code = 'DFS_URL_HEADERS_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`the server did not send its status line and headers within ${timeoutMs} ms (URL_HEADERS_TIMEOUT_MS)`);
  }
}

/** The body came slower than the minimum over a whole low-speed window of waiting for it. */
export class LowSpeedError extends DfsError {
  override readonly name = 'LowSpeedError';
  readonly code = 'DFS_URL_LOW_SPEED';
  constructor(
    readonly bytes: number,
    readonly windowMs: number,
    readonly minBytesPerSecond: number,
  ) {
    super(`the server sent ${bytes} bytes in ${windowMs / 1000} s, below the minimum of ${minBytesPerSecond} bytes/s (URL_MIN_BYTES_PER_SECOND)`);
  }
}

/** A URL source failed in a way worth a clear note (size, change, status); becomes the transfer's error. */
export class UrlSourceError extends DfsError {
  override readonly name = 'UrlSourceError';
  readonly code = 'DFS_URL_SOURCE';
}

// ── Downloads and the command line ───────────────────────────────────────────────────────

/** Why a download from Discord stopped. `retryable` failures are retried (a fresh message, a fresh link). */
export class DownloadError extends DfsError {
  override readonly name = 'DownloadError';
  readonly code = 'DFS_DOWNLOAD';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A manifest whose parts do not tile its file (gaps, overlaps, a size that does not add up) or name a path. */
export class ManifestError extends DfsError {
  override readonly name = 'ManifestError';
  readonly code = 'DFS_MANIFEST_INVALID';
}

/** What the command line exits with: 1 for a failure, 2 for a usage mistake (README, 'The command line'). */
export class CliFailure extends DfsError {
  override readonly name: string = 'CliFailure';
  readonly code: ErrorCode = 'DFS_CLI_FAILURE';
  readonly exitCode: number = 1;
}

export class UsageError extends CliFailure {
  override readonly name = 'UsageError';
  override readonly code = 'DFS_CLI_USAGE';
  override readonly exitCode = 2;
}

/** `send` could not reach the bot: worth trying again, unlike the bot's answers. */
export class BotUnreachableError extends CliFailure {
  override readonly name = 'BotUnreachableError';
  override readonly code = 'DFS_CLI_UNREACHABLE';
}

/** A tus request of `send` the bot refused: its status code, and what it said (the bot's answers are written for people). */
export class SendUploadError extends CliFailure {
  override readonly name = 'SendUploadError';
  override readonly code = 'DFS_CLI_SEND_REFUSED';

  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
