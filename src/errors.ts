/** Errors with structured fields. `UserError` is safe to show to the person who asked. */

export class UserError extends Error {
  override readonly name = 'UserError';
}

/** The environment did not validate; `problems` lists every bad key at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee .env.example for every key.`);
  }
}

/** The progress file cannot be used as it is; it is left untouched. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`Progress file ${file}: ${problem}. The file was left untouched.`);
  }
}

/** A write was based on an older state than the one now on disk. */
export class StaleWriteError extends Error {
  override readonly name = 'StaleWriteError';
}

/** How a disk refuses writes, in the words users see ("paused: cannot write the progress file (disk full)"). */
export type DiskCondition = 'disk full' | 'read-only' | 'not permitted' | 'I/O error';

/**
 * The disk refused to write the progress file (full, read-only, not permitted, failing); the
 * file keeps its last good state. `kept`: the change stays in the store's memory and goes
 * out with the next write the disk allows; otherwise (a new transfer, a prune) it was
 * dropped, and the caller may try again later.
 */
export class DiskWriteError extends Error {
  override readonly name = 'DiskWriteError';
  constructor(
    readonly file: string,
    readonly code: string,
    readonly condition: DiskCondition,
    readonly kept: boolean,
    options?: { cause?: unknown },
  ) {
    super(`Progress file ${file} cannot be written: ${condition} (${code})${kept ? '; the change is kept in memory until it can' : ''}`, options);
  }
}

/** Another live process holds the progress file's lock. */
export class LockedError extends Error {
  override readonly name = 'LockedError';
}

/** Discord closed the gateway with a code it documents as fatal: reconnecting cannot help. */
export class GatewayClosedError extends Error {
  override readonly name = 'GatewayClosedError';
  constructor(
    readonly code: number,
    readonly meaning: string,
  ) {
    super(`Discord closed the gateway with ${code}: ${meaning}`);
  }
}

/** Steps of the bot's stop that failed or ran out of time (`steps` names them); the process exits 1. */
export class ShutdownError extends Error {
  override readonly name = 'ShutdownError';
  constructor(
    readonly steps: string[],
    options?: { cause?: unknown },
  ) {
    super(`the stop was not clean: ${steps.join(', ')}`, options);
  }
}

/** A status change the state machine does not allow. */
export class TransitionError extends Error {
  override readonly name = 'TransitionError';
}

/**
 * How a sink failed, which decides what the orchestrator does next:
 * `transient` is retried with backoff, `too_large` and `fatal` end the transfer at once,
 * `aborted` means the caller's AbortSignal fired.
 */
export type SinkFailure = 'transient' | 'too_large' | 'fatal' | 'aborted';

export class SinkError extends Error {
  override readonly name = 'SinkError';
  constructor(
    message: string,
    readonly kind: SinkFailure,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The steps of a durable write (src/fs/durable-write.ts), in order. */
export type DurableStep = 'open' | 'write' | 'fsync' | 'size' | 'rename' | 'dir-fsync';

/**
 * A durable write failed at `step`. Up to `rename` the file it was replacing is untouched;
 * at `dir-fsync` the new version is in place but may not survive a power loss.
 */
export class DurableWriteError extends Error {
  override readonly name = 'DurableWriteError';
  /** The errno code (`ENOSPC`, `EEXIST`, …) when the file system gave one. */
  readonly code: string | undefined;
  constructor(
    readonly file: string,
    readonly step: DurableStep,
    problem: string,
    options?: { cause?: unknown; code?: string | undefined },
  ) {
    super(`writing ${file} failed at ${step}: ${problem}`, options);
    this.code = options?.code;
  }
}
