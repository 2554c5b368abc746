/**
 * How every request of one run is retried (retry.ts does the waiting): transient sink
 * failures, with backoff, up to RETRY_LIMIT_PER_CHUNK retries; none once the run's signal
 * fired, and none once the run has failed or paused, so the other messages settle.
 */
import { SinkError } from '../errors.js';
import type { Random } from '../time/backoff.js';
import type { Sleep } from '../time/sleep.js';
import { retry } from './retry.js';
import type { RunOutcome } from './run-outcome.js';

export interface RetryLimits {
  retryLimit: number; // retries after the first attempt
  backoffBaseMs: number;
}

/** Told before each retry: what failed, the attempt that failed, and the wait before the next. */
export type OnRetry = (err: unknown, attempt: number, delayMs: number) => void;

export class RetryPolicy {
  constructor(
    private readonly limits: RetryLimits,
    private readonly outcome: RunOutcome,
    private readonly timing: { random?: Random | undefined; sleep?: Sleep | undefined } = {},
  ) {}

  /** Runs `request` (given its 1-based attempt) until it succeeds or is given up; rejects as `retry` does. */
  run<T>(request: (attempt: number) => Promise<T>, onRetry: OnRetry): Promise<{ value: T; attempts: number }> {
    return retry(request, {
      limit: this.limits.retryLimit,
      baseMs: this.limits.backoffBaseMs,
      retryable: (err: unknown) => err instanceof SinkError && err.kind === 'transient',
      signal: this.outcome.signal,
      random: this.timing.random,
      sleep: this.timing.sleep,
      onRetry,
      stop: () => this.outcome.stopsRetries(),
    });
  }
}
