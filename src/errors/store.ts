/** The progress store's errors (src/store/); re-exported by src/errors.ts, where callers import them. */
import { DfsError } from './base.js';

/** The progress file cannot be used as it is; it is left untouched. */
export class StoreError extends DfsError {
  override readonly name = 'StoreError';
  readonly code = 'DFS_STORE_UNUSABLE';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`Progress file ${file}: ${problem}. The file was left untouched.`);
  }
}

/** A write was based on an older state than the one now on disk. */
export class StaleWriteError extends DfsError {
  override readonly name = 'StaleWriteError';
  readonly code = 'DFS_STORE_STALE_WRITE';
}

/** How a disk refuses writes, in the words users see ("paused: cannot write the progress file (disk full)"). */
export type DiskCondition = 'disk full' | 'read-only' | 'not permitted' | 'I/O error';

/**
 * The disk refused to write the progress file (full, read-only, not permitted, failing); the
 * file keeps its last good state. `kept`: the change stays in the store's memory and goes
 * out with the next write the disk allows; otherwise (a new transfer, a prune) it was
 * dropped, and the caller may try again later.
 */
export class DiskWriteError extends DfsError {
  override readonly name = 'DiskWriteError';
  readonly code = 'DFS_STORE_DISK_REFUSED';
  constructor(
    readonly file: string,
    readonly errno: string,
    readonly condition: DiskCondition,
    readonly kept: boolean,
    options?: { cause?: unknown },
  ) {
    super(`Progress file ${file} cannot be written: ${condition} (${errno})${kept ? '; the change is kept in memory until it can' : ''}`, options);
  }
}

/** Another live process holds the progress file's lock. */
export class LockedError extends DfsError {
  override readonly name = 'LockedError';
  readonly code = 'DFS_STORE_LOCKED';
}

/** The record failed the schema after a change; nothing was stored. */
export class InvalidRecordError extends DfsError {
  override readonly name = 'InvalidRecordError';
  readonly code = 'DFS_STORE_INVALID_RECORD';
}

/** A status change the state machine does not allow. */
export class TransitionError extends DfsError {
  override readonly name = 'TransitionError';
  readonly code = 'DFS_STORE_BAD_TRANSITION';
}

/** The steps of a durable write (src/fs/durable-write.ts), in order. */
export type DurableStep = 'open' | 'write' | 'fsync' | 'size' | 'rename' | 'dir-fsync';

/**
 * A durable write failed at `step`. Up to `rename` the file it was replacing is untouched;
 * at `dir-fsync` the new version is in place but may not survive a power loss.
 */
export class DurableWriteError extends DfsError {
  override readonly name = 'DurableWriteError';
  readonly code = 'DFS_DURABLE_WRITE';
  /** The errno code (`ENOSPC`, `EEXIST`, …) when the file system gave one. */
  readonly errno: string | undefined;
  constructor(
    readonly file: string,
    readonly step: DurableStep,
    problem: string,
    options?: { cause?: unknown; errno?: string | undefined },
  ) {
    super(`writing ${file} failed at ${step}: ${problem}`, options);
    this.errno = options?.errno;
  }
}

/** The store holds no transfer with this id. */
export class UnknownTransferError extends DfsError {
  override readonly name = 'UnknownTransferError';
  readonly code = 'DFS_UNKNOWN_TRANSFER';
  constructor(readonly id: string) {
    super(`unknown transfer ${id}`);
  }
}

/** `create` was given an id the store already holds; nothing was stored. */
export class DuplicateTransferError extends DfsError {
  override readonly name = 'DuplicateTransferError';
  readonly code = 'DFS_DUPLICATE_TRANSFER';
  constructor(readonly id: string) {
    super(`transfer ${id} already exists`);
  }
}
