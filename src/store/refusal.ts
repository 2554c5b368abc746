/**
 * What FileStore does when the disk refuses a write: which errors count as a refusal (the
 * changes are held in memory rather than dropped) and how long it waits before trying the
 * held changes again. The holding and the probe timer are FileStore's; this is their policy.
 */
import type { DiskCondition } from '../errors.js';
import { backoffDelay } from '../time/backoff.js';

/** After a refusal, held changes are tried again `firstMs` later, then doubling up to `maxMs`. */
export interface ProbeOptions {
  firstMs: number;
  maxMs: number;
}

export const PROBE_DEFAULTS = {
  firstMs: 500, // ms
  maxMs: 30_000, // ms: a freed disk is noticed within half a minute
} as const satisfies ProbeOptions;

/** The wait before the `attempt`-th try (1-based) after a refusal: doubling, capped, without jitter (one probe, nothing to spread). */
export function probeDelayMs(attempt: number, options: ProbeOptions): number {
  return backoffDelay(attempt, options.firstMs, null, options.maxMs);
}

/**
 * Errors that mean the disk refuses writes for now, not that the file or the change is bad:
 * full (ENOSPC, EDQUOT), read-only (EROFS: an operator, or the kernel after disk errors), not
 * permitted (EPERM from `chattr +i`, EACCES from a changed folder mode: the store wrote beside
 * the file when it took the lock, so these changed under it and can be changed back), failing
 * (EIO). A refused write leaves the last good file in place, so holding the changes and
 * trying again is safe. Anything else (a corrupt file, a bug) still rejects and drops them.
 */
export const REFUSALS: Readonly<Record<string, DiskCondition>> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk full',
  EROFS: 'read-only',
  EPERM: 'not permitted',
  EACCES: 'not permitted',
  EIO: 'I/O error',
};
