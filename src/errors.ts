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

/** Another live process holds the progress file's lock. */
export class LockedError extends Error {
  override readonly name = 'LockedError';
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
