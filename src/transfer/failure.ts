/**
 * How a run reads a failure: an abort (a /cancel, a shutdown) ends it `cancelled` or
 * `interrupted`; anything else ends it `error` with a note that says what was being done and
 * why it stopped, in words a user sees in the progress message and /status.
 */
import { messageOf, SinkError } from '../errors.js';
import { isAbortError } from '../time/sleep.js';

export type FailureReading = { aborted: true } | { aborted: false; note: string };

export interface FailureContext {
  /** What was being done, e.g. `sending movie.mkv.part003`. */
  doing: string;
  /** The run's own signal: once it fired, any failure is the abort's doing. */
  signal: AbortSignal;
  /** The note for a part the destination refused as too large (it names the parts and sizes). */
  tooLarge?: string | undefined;
  /** Attempts made before giving up, for transient failures. */
  attempts?: number | undefined;
}

export function readFailure(err: unknown, context: FailureContext): FailureReading {
  const { doing, signal, tooLarge, attempts } = context;
  if (signal.aborted || isAbortError(err) || (err instanceof SinkError && err.kind === 'aborted')) return { aborted: true };
  if (!(err instanceof SinkError)) return { aborted: false, note: `${doing}: ${messageOf(err)}` };
  if (err.reason === 'source_changed') return { aborted: false, note: `source changed: ${err.message} (${doing})` };
  if (err.kind === 'too_large') return { aborted: false, note: `${tooLarge ?? `${doing}: refused as too large`}: ${err.message}` };
  if (err.kind === 'transient') return { aborted: false, note: `${doing}: gave up after ${attempts ?? 1} attempt(s): ${err.message}` };
  return { aborted: false, note: `${doing}: ${err.message}` };
}

/** The label a retry is counted and logged under (`http_500`, `timeout`, …). */
export function reasonOf(err: unknown): string {
  if (err instanceof SinkError) return err.reason;
  return messageOf(err);
}
