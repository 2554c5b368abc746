/**
 * A progress store kept in memory only: same rules as the file store (shared through
 * apply.ts), no disk. For tests of the orchestrator and for dry runs.
 */
/* eslint-disable @typescript-eslint/require-await -- async so that a refusal (a closed store, an unknown id) rejects, as the file store's does, rather than throws */
import { applyChange, buildNewRecord, duplicateTransfer, sealRecord, idsToPrune, statusChange, summarize, unknownTransfer } from './apply.js';
import { transferSchema, type TransferRecord, type TransferStatus } from './schema.js';
import type { NewTransfer, ProgressStore, StoredTransfer, TransferSummary } from './types.js';

export interface MemoryStoreOptions {
  now?: () => Date;
}

export class MemoryStore implements ProgressStore {
  readonly #records = new Map<string, TransferRecord>();
  readonly #now: () => Date;
  #closed = false;

  constructor(initial: readonly StoredTransfer[] = [], options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? (() => new Date());
    for (const record of initial) {
      const parsed = sealRecord(transferSchema.parse(structuredClone(record)));
      if (this.#records.has(parsed.id)) throw new Error(`duplicate transfer ${parsed.id}`);
      this.#records.set(parsed.id, parsed);
    }
  }

  list(): TransferRecord[] {
    return [...this.#records.values()];
  }

  summaries(): TransferSummary[] {
    return [...this.#records.values()].map(summarize);
  }

  get(id: string): TransferRecord | undefined {
    return this.#records.get(id);
  }

  async create(transfer: NewTransfer): Promise<TransferRecord> {
    this.#assertOpen();
    const record = buildNewRecord(transfer, this.#now());
    if (this.#records.has(record.id)) throw duplicateTransfer(record.id);
    this.#records.set(record.id, record);
    return record;
  }

  async update(id: string, change: (draft: TransferRecord) => void): Promise<TransferRecord> {
    this.#assertOpen();
    const current = this.#records.get(id);
    if (current === undefined) throw unknownTransfer(id);
    const next = applyChange(current, change, this.#now());
    this.#records.set(id, next);
    return next;
  }

  setStatus(id: string, status: TransferStatus, note?: string): Promise<TransferRecord> {
    return this.update(id, statusChange(status, note));
  }

  async prune(olderThanMs: number, now: Date = this.#now()): Promise<string[]> {
    this.#assertOpen();
    const ids = idsToPrune(this.#records.values(), olderThanMs, now);
    for (const id of ids) this.#records.delete(id);
    return ids;
  }

  /** Memory never refuses a write. */
  readonly refusal = undefined;

  onWritable(): void {
    // Nothing is ever held back, so there is nothing to report.
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('the progress store is closed');
  }
}
