/** What the orchestrator and the bot need from a progress store; file and memory versions exist. */
import type { z } from 'zod';
import type { TransferRecord, TransferStatus, transferSchema } from './schema.js';

/**
 * The declared fields only: the schema's objects are loose (`[k: string]: unknown`), and
 * `Omit` over an index signature would drop every named field and accept anything.
 */
type DeclaredFields<T> = { [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] };

/** What `create` needs; fields with a schema default (`guild_id`, `bytes_done`, …) may be left out. */
export type NewTransfer = Omit<
  DeclaredFields<z.input<typeof transferSchema>>,
  'status' | 'created_at' | 'updated_at' | 'completed_chunks' | 'parts' | 'chunk_attempts' | 'notes'
> &
  Partial<Pick<TransferRecord, 'notes'>>;

/** A transfer without its per-part data: what lists, counts and autocomplete need. */
export type TransferSummary = Pick<
  TransferRecord,
  'id' | 'status' | 'file_name' | 'owner_id' | 'guild_id' | 'channel_id' | 'total_chunks' | 'created_at' | 'updated_at'
> & { parts_done: number };

export interface ProgressStore {
  /** A snapshot copy of every transfer; changing it changes nothing. */
  list(): TransferRecord[];
  /**
   * Every transfer in brief. Cheap at any size (list() copies every part record: ~160 ms with
   * 100 transfers of 1,000 parts), so it may run on every autocomplete keystroke and scrape.
   */
  summaries(): TransferSummary[];
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
