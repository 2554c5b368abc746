/**
 * How one run of a transfer ends, gathered while it runs: the first failure (its note), an
 * abort (the run's signal, or an abort seen in an error), or a pause on a progress file the
 * disk refuses to write; and the attempts made by messages that failed, which no successful
 * write recorded yet. At the end it says the status, the notes and the last change to write
 * (see `ending`).
 */
import type { DiskWriteError } from '../errors.js';
import type { TransferRecord, TransferStatus } from '../store/schema.js';
import { canTransition } from '../store/state.js';
import type { StoredTransfer } from '../store/types.js';
import { readFailure } from './failure.js';

export type AbortStatus = 'cancelled' | 'interrupted';

export interface RunEnding {
  /** What stopped the run: a user or a shutdown, the disk, or a failure. */
  kind: 'aborted' | 'paused' | 'failed';
  status: TransferStatus;
  notes: string[];
  /** The last write of the run: status, notes, and the attempts not yet recorded. */
  change: (draft: TransferRecord) => void;
}

export class RunOutcome {
  #failure: string | null = null;
  #aborted = false;
  #paused: DiskWriteError | null = null;
  readonly #unsavedAttempts = new Map<number, number>();
  #unsavedRetries = 0;

  readonly #ownStop = new AbortController();
  /**
   * What the source reads with: the run's stop, and also its own failure or pause. A source
   * that waits for bytes (a file sent from a member's computer) would otherwise keep a run
   * that failed `in_progress` until the sender sends more.
   */
  readonly sourceSignal: AbortSignal;

  /** `signal`: the run's stop (a /cancel or a shutdown); once it fires the run is aborted. */
  constructor(readonly signal: AbortSignal) {
    this.sourceSignal = AbortSignal.any([signal, this.#ownStop.signal]);
  }

  /** Failed or paused: the run stopped itself (an abort of its source then is no news). */
  stoppedItself(): boolean {
    return this.#failure !== null || this.#paused !== null;
  }

  /** The first failure's note; later failures are consequences of it. */
  get failure(): string | null {
    return this.#failure;
  }

  /** Why the disk refused a progress write, which stops the run as `interrupted`. */
  get paused(): DiskWriteError | null {
    return this.#paused;
  }

  fail(note: string): void {
    this.#failure ??= note;
    this.#ownStop.abort(new Error(`the run failed: ${this.#failure}`));
  }

  abort(): void {
    this.#aborted = true;
  }

  /** Records the disk's refusal; true the first time, when the run should say it paused. */
  pause(error: DiskWriteError): boolean {
    if (this.#paused !== null) return false;
    this.#paused = error;
    this.#ownStop.abort(new Error('the run paused'));
    return true;
  }

  /** Reads a failure of `doing` (failure.ts): an abort, or the note that ends the run. */
  failWith(err: unknown, doing: string, tooLarge?: string, attempts?: number): void {
    const reading = readFailure(err, { doing, signal: this.signal, tooLarge, attempts });
    if (reading.aborted) this.abort();
    else this.fail(reading.note);
  }

  /** Whether the run must stop dispatching: failed, aborted or paused. */
  stopped(): boolean {
    return this.#failure !== null || this.#aborted || this.signal.aborted || this.#paused !== null;
  }

  /** Whether other messages should stop retrying: the transfer has failed or paused. */
  stopsRetries(): boolean {
    return this.#failure !== null || this.#paused !== null;
  }

  /** Attempts of a message that failed; like a successful one, one retry per extra attempt of the message, not per part. */
  noteAttempts(indices: readonly number[], attempts: number): void {
    if (attempts === 0) return;
    this.#unsavedRetries += attempts - 1;
    for (const index of indices) this.#unsavedAttempts.set(index, (this.#unsavedAttempts.get(index) ?? 0) + attempts);
  }

  /** The end of a run that did not complete; hands over (and forgets) the attempts not yet recorded. */
  ending(record: StoredTransfer, abortStatus: AbortStatus): RunEnding {
    const attempts = new Map(this.#unsavedAttempts);
    const retries = this.#unsavedRetries;
    this.#unsavedAttempts.clear();
    this.#unsavedRetries = 0;
    const aborted = this.#aborted || this.signal.aborted;
    // A failure still ends in `error`; a pause alone is resumable, by itself once the disk allows.
    const paused = this.#paused !== null && !aborted && this.#failure === null;
    const status: TransferStatus = aborted ? abortStatus : paused ? 'interrupted' : 'error';
    const done = `${record.parts.length} of ${record.total_chunks ?? '?'} parts`;
    const notes: string[] = [];
    if (this.#failure) notes.push(this.#failure);
    else if (paused)
      notes.push(
        `paused: cannot write the progress file (${this.#paused!.condition}) after ${done}; it resumes by itself once the file can be written`,
      );
    else if (!aborted) notes.push('stopped before completion');
    if (aborted) notes.push(`${status} after ${done}`);
    const change = (draft: TransferRecord) => {
      for (const [index, n] of attempts) draft.chunk_attempts[String(index)] = (draft.chunk_attempts[String(index)] ?? 0) + n;
      draft.retries += retries;
      draft.notes.push(...notes);
      if (draft.status !== status && canTransition(draft.status, status)) draft.status = status;
    };
    return { kind: aborted ? 'aborted' : paused ? 'paused' : 'failed', status, notes, change };
  }
}
