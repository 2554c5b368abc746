/**
 * One run's hold on its transfer's record in the ProgressStore: the record as last saved,
 * and the one way the run writes it. A write the disk refuses (DiskWriteError, the change
 * kept in memory by the store, written once the disk allows) does not throw: the run carries
 * on from the kept change (a part Discord stored stays recorded) and its outcome pauses, so
 * it stops dispatching and ends `interrupted`.
 */
import { DiskWriteError } from '../errors.js';
import type { TransferRecord } from '../store/schema.js';
import type { ProgressStore, StoredTransfer } from '../store/types.js';
import type { RunReporter } from './reporter.js';
import type { RunOutcome } from './run-outcome.js';

export type RecordChange = (draft: TransferRecord) => void;

export class RunRecord {
  #current: StoredTransfer;

  constructor(
    private readonly store: ProgressStore,
    initial: StoredTransfer,
    private readonly outcome: RunOutcome,
    private readonly reporter: RunReporter,
  ) {
    this.#current = initial;
  }

  get id(): string {
    return this.#current.id;
  }

  /** The record as last saved (or as the store kept it). */
  get current(): StoredTransfer {
    return this.#current;
  }

  /** Writes `change`, then tells the caller's progress callback; throws only what is not a kept refusal. */
  async save(change: RecordChange): Promise<void> {
    try {
      this.#current = await this.store.update(this.id, change);
    } catch (err) {
      if (!(err instanceof DiskWriteError && err.kept)) throw err;
      this.#current = this.store.get(this.id) ?? this.#current;
      if (this.outcome.pause(err)) this.reporter.paused(err);
    }
    this.reporter.progress(this.#current);
  }
}
