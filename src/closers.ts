/**
 * What the bot must close, in one ordered list: each part adds its closer as it starts, and a
 * failed start and a stop both close the list the same way, newest first, so nothing is
 * closed while something started after it may still use it.
 */
import { DeadlineError } from './errors.js';
import type { Logger } from './log.js';

interface Closer {
  name: string;
  close: () => unknown;
  limitMs: number;
}

export interface CloseFailure {
  name: string;
  error: unknown;
}

export class Closers {
  readonly #list: Closer[] = [];

  constructor(private readonly log: Logger) {}

  /** `close` runs once, at most `limitMs` (and never past the whole list's deadline). */
  add(name: string, close: () => unknown, limitMs = Number.POSITIVE_INFINITY): void {
    this.#list.push({ name, close, limitMs });
  }

  /**
   * Closes everything, newest first, within `deadlineMs` in all: each closer gets what is left
   * of it, and one that fails or runs out of time is logged and does not skip the next.
   * Resolves with the failures; closing again closes nothing more.
   */
  async closeAll(deadlineMs: number): Promise<CloseFailure[]> {
    const deadline = Date.now() + deadlineMs;
    const failures: CloseFailure[] = [];
    for (const { name, close, limitMs } of this.#list.splice(0).reverse()) {
      try {
        await withDeadline(Promise.resolve().then(close), Math.min(limitMs, deadline - Date.now()), name);
      } catch (error) {
        failures.push({ name, error });
        this.log.error({ err: error, step: name }, 'shutdown step failed');
      }
    }
    return failures;
  }
}

/** `work`, or a rejection once `ms` have passed; the timer is kept so the process stays up to see it. */
async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, Math.max(0, ms))), Math.max(0, ms));
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
