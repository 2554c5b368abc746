/** What the orchestrator and the bot need from a progress store; file and memory versions exist. */
import type { TransferRecord, TransferStatus } from './schema.js';

export type NewTransfer = Omit<
  TransferRecord,
  'status' | 'created_at' | 'updated_at' | 'completed_chunks' | 'parts' | 'chunk_attempts' | 'notes'
> &
  Partial<Pick<TransferRecord, 'notes'>>;

export interface ProgressStore {
  /** A snapshot copy of every transfer; changing it changes nothing. */
  list(): TransferRecord[];
  get(id: string): TransferRecord | undefined;
  /** Records a new transfer with status `pending` and writes it durably before resolving. */
  create(transfer: NewTransfer): Promise<TransferRecord>;
  /**
   * Applies `change` to a fresh copy of the transfer and writes it durably (serialized with
   * every other write). A status change inside `change` is checked against the state
   * machine; `updated_at` is set by the store. Resolves with the saved copy.
   */
  update(id: string, change: (draft: TransferRecord) => void): Promise<TransferRecord>;
  /** Shorthand for a status change through the state machine, with an optional note. */
  setStatus(id: string, status: TransferStatus, note?: string): Promise<TransferRecord>;
  /** Removes finished transfers whose `updated_at` is older than `olderThanMs` ago. */
  prune(olderThanMs: number, now?: Date): Promise<string[]>;
  /** Waits for pending writes and releases the lock, if any. */
  close(): Promise<void>;
}
