/** What the orchestrator and the bot need from a progress store; file and memory versions exist. */
import type { z } from 'zod';
import type { DiskWriteError } from '../errors.js';
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

/** What the stores hand out: frozen at run time, and read-only to the type checker too. */
type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
export type StoredTransfer = DeepReadonly<TransferRecord>;

export interface ProgressStore {
  /**
   * Every transfer. Records are immutable and shared, not copied: a reader keeps the version
   * it was given, and each change makes a new one (see apply.ts).
   */
  list(): StoredTransfer[];
  /**
   * Every transfer in brief, without the per-part data: what lists, counts and autocomplete
   * need.
   */
  summaries(): TransferSummary[];
  get(id: string): StoredTransfer | undefined;
  /** Records a new transfer with status `pending` and writes it durably before resolving. */
  create(transfer: NewTransfer): Promise<StoredTransfer>;
  /**
   * Applies `change` to a copy of the transfer and writes it durably (serialized with
   * every other write). A status change inside `change` is checked against the state
   * machine; `updated_at` is set by the store. Resolves with the saved record.
   */
  update(id: string, change: (draft: TransferRecord) => void): Promise<StoredTransfer>;
  /** Shorthand for a status change through the state machine, with an optional note. */
  setStatus(id: string, status: TransferStatus, note?: string): Promise<StoredTransfer>;
  /** Removes finished transfers whose `updated_at` is older than `olderThanMs` ago. */
  prune(olderThanMs: number, now?: Date): Promise<string[]>;
  /**
   * Why the disk refused the last write (DiskWriteError: full, read-only, …); the refused
   * changes are held in memory and written once it allows. Undefined once a write succeeds.
   */
  readonly refusal: DiskWriteError | undefined;
  /** Calls `listener` after each write that succeeds following a refusal. Listeners must not throw. */
  onWritable(listener: () => void): void;
  /** Waits for pending writes (one last try for held ones) and releases the lock, if any. */
  close(): Promise<void>;
}
