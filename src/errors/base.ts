/** What every error of src/errors.ts shares: the codes, the base class, and reading any error. */

export type ErrorCode =
  | 'DFS_USER'
  | 'DFS_URL_REFUSED'
  | 'DFS_CONFIG_INVALID'
  | 'DFS_STORE_UNUSABLE'
  | 'DFS_STORE_STALE_WRITE'
  | 'DFS_STORE_DISK_REFUSED'
  | 'DFS_STORE_LOCKED'
  | 'DFS_STORE_INVALID_RECORD'
  | 'DFS_STORE_BAD_TRANSITION'
  | 'DFS_UNKNOWN_TRANSFER'
  | 'DFS_DUPLICATE_TRANSFER'
  | 'DFS_DURABLE_WRITE'
  | 'DFS_GATEWAY_CLOSED'
  | 'DFS_SHUTDOWN_UNCLEAN'
  | 'DFS_LISTEN'
  | 'DFS_DEADLINE'
  | 'DFS_SINK'
  | 'DFS_RETRY_EXHAUSTED'
  | 'DFS_HELD_BACK'
  | 'DFS_SOURCE_READ'
  | 'DFS_SOURCE_CHANGED'
  | 'DFS_URL_STATUS'
  | 'DFS_URL_HEADERS_TIMEOUT'
  | 'DFS_URL_LOW_SPEED'
  | 'DFS_URL_SOURCE'
  | 'DFS_DOWNLOAD'
  | 'DFS_MANIFEST_INVALID'
  | 'DFS_CLI_FAILURE'
  | 'DFS_CLI_USAGE'
  | 'DFS_CLI_UNREACHABLE'
  | 'DFS_CLI_SEND_REFUSED'
  | 'DFS_SHARDING'
  | 'DFS_AGE_CHUNK'
  | 'DFS_REQUEST_TIMEOUT';

/** The base of every error here: a stable code and the class name as `name`. */
export abstract class DfsError extends Error {
  abstract readonly code: ErrorCode;
}

/** What went wrong, in the words of whatever was thrown (an Error's message, else the value itself). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The errno code (`ENOSPC`, `EEXIST`, …) of a file system or network error, if it has one;
 * for one of ours that wraps such an error (DurableWriteError, DiskWriteError), its `errno`.
 */
export function errnoCode(error: unknown): string | undefined {
  if (error instanceof DfsError) return 'errno' in error && typeof error.errno === 'string' ? error.errno : undefined;
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/**
 * The first of `error` and the errors it was caused by that `matches` (discord.js and undici
 * wrap what they are given); at most 8 deep, since nothing stops a chain from looping.
 */
export function findCause<T extends Error>(error: unknown, matches: (e: Error) => e is T): T | null;
export function findCause(error: unknown, matches: (e: Error) => boolean): Error | null;
export function findCause(error: unknown, matches: (e: Error) => boolean): Error | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) if (matches(e)) return e;
  return null;
}
