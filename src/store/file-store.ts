/**
 * The progress store on disk: `transfer_progress.json` (format and write policy in
 * TRANSFER_PROGRESS_FORMAT.md).
 *
 * Every change is applied in memory at once (so concurrent callers build on each other),
 * queued, and written by one writer loop: changes that arrive while a write is in flight
 * are coalesced into the next single write, and a caller's promise settles only after a
 * write containing its change is durable (writeFileDurably: temp file in the same
 * directory, every byte written, fsync, size checked, rename; then the directory is fsynced).
 *
 * Stale writes: each queued change remembers the `updated_at` of the record it was based
 * on. Before a write the file is stat'ed; if it changed behind our back it is re-read, and a
 * change whose record on disk is no longer the version it was based on is rejected with
 * StaleWriteError instead of overwriting someone else's update.
 *
 * A disk that refuses writes (full, read-only, not permitted, failing) loses nothing: the
 * refused changes stay in memory ("held"), callers learn why through DiskWriteError, and a
 * probe with bounded exponential backoff writes them once the disk allows, then tells the
 * `onWritable` listeners (the bot resumes the transfers it paused).
 *
 * This file is the store and its writer loop; the parts it uses live beside it: reading and
 * validating the file (parse.ts), its layout (serialize.ts), the durable write (durable.ts),
 * queued changes and their stale check (write-queue.ts), what counts as a refusal and the
 * probe's backoff (refusal.ts).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DiskWriteError, errnoCode } from '../errors.js';
import { applyChange, buildNewRecord, duplicateTransfer, idsToPrune, statusChange, summarize, unknownTransfer } from './apply.js';
import { removeLeftoverTempFiles, writeDurably } from './durable.js';
import { acquireLock, type HeldLock } from './lock.js';
import { holdsKey, identityOf, parseProgressText, readWithIdentity, sameIdentity, stateOf, type FileIdentity, type FileState } from './parse.js';
import { PROBE_DEFAULTS, probeDelayMs, REFUSALS, type ProbeOptions } from './refusal.js';
import { emptyProgressFile, type ProgressFile, type TransferRecord, type TransferStatus } from './schema.js';
import { serialize, serializeCached, type SerializeBuffer } from './serialize.js';
import type { NewTransfer, ProgressStore, TransferSummary } from './types.js';
import { applyOp, settle, type Op, type Waiter } from './write-queue.js';

export interface FileStoreOptions {
  /** Take the advisory lock beside the file (default true); tools reading alongside pass false. */
  lock?: boolean;
  now?: () => Date;
  /** How often held changes are tried again after the disk refused them. */
  probe?: ProbeOptions;
}

export class FileStore implements ProgressStore {
  readonly file: string;
  readonly #lock: HeldLock | undefined;
  readonly #now: () => Date;
  /** What the file holds as of our last read or write. */
  #committed: FileState;
  #identity: FileIdentity | undefined;
  /** `#committed` plus every queued change: what callers see and build on. */
  #view: Map<string, TransferRecord>;
  #pending: Op[] = [];
  /** Reused for the file's bytes on every write (see serializeCached). */
  readonly #out: SerializeBuffer = { buffer: Buffer.alloc(0) };
  #draining: Promise<void> | null = null;
  /** Replaced versions being unlinked after their write (see writeDurably). */
  readonly #unlinking = new Set<Promise<void>>();
  #closed = false;
  /** Changes the disk refused: still in the view, and written first by every later write. */
  #held: Op[] = [];
  /** The last refusal, until a write succeeds. */
  #refusal: DiskWriteError | undefined;
  readonly #probe: ProbeOptions;
  #probeTimer: NodeJS.Timeout | undefined;
  #probeAttempts = 0;
  /** Set by the probe and by close: the next drain writes held changes even with nothing new. */
  #retryHeld = false;
  readonly #writableListeners = new Set<() => void>();

  private constructor(
    file: string,
    lock: HeldLock | undefined,
    data: ProgressFile,
    identity: FileIdentity | undefined,
    now: () => Date,
    probe: ProbeOptions,
  ) {
    this.file = file;
    this.#lock = lock;
    this.#now = now;
    this.#probe = probe;
    this.#committed = stateOf(data);
    this.#identity = identity;
    this.#view = new Map(this.#committed.records);
  }

  /**
   * Takes the lock, then loads the file (creating it empty when missing). A file that is not
   * valid JSON, fails the schema or has a newer schema_version throws StoreError and is left
   * byte for byte as it was.
   */
  static async open(filePath: string, options: FileStoreOptions = {}): Promise<FileStore> {
    const file = path.resolve(filePath);
    const now = options.now ?? (() => new Date());
    const probe = options.probe ?? PROBE_DEFAULTS;
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const lock = options.lock === false ? undefined : await acquireLock(file);
    try {
      if (lock !== undefined) await removeLeftoverTempFiles(file);
      const loaded = await readWithIdentity(file);
      if (loaded !== undefined) {
        return new FileStore(file, lock, parseProgressText(file, loaded.text), loaded.identity, now, probe);
      }
      const empty = emptyProgressFile();
      await (
        await writeDurably(file, serialize(stateOf(empty)))
      )?.();
      return new FileStore(file, lock, empty, identityOf(await fsp.stat(file)), now, probe);
    } catch (error) {
      await lock?.release();
      throw error;
    }
  }

  list(): TransferRecord[] {
    return [...this.#view.values()];
  }

  summaries(): TransferSummary[] {
    return [...this.#view.values()].map(summarize);
  }

  get(id: string): TransferRecord | undefined {
    return this.#view.get(id);
  }

  async create(transfer: NewTransfer): Promise<TransferRecord> {
    this.#assertOpen();
    const record = buildNewRecord(transfer, this.#now());
    if (this.#view.has(record.id)) throw duplicateTransfer(record.id);
    return this.#enqueue<TransferRecord>((waiter) => ({ kind: 'create', record, waiter }));
  }

  async update(id: string, change: (draft: TransferRecord) => void): Promise<TransferRecord> {
    this.#assertOpen();
    const current = this.#view.get(id);
    if (current === undefined) throw unknownTransfer(id);
    const record = applyChange(current, change, this.#now());
    return this.#enqueue<TransferRecord>((waiter) => ({ kind: 'update', record, basedOn: current.updated_at, waiter }));
  }

  setStatus(id: string, status: TransferStatus, note?: string): Promise<TransferRecord> {
    return this.update(id, statusChange(status, note));
  }

  async prune(olderThanMs: number, now: Date = this.#now()): Promise<string[]> {
    this.#assertOpen();
    const ids = idsToPrune(this.#view.values(), olderThanMs, now);
    if (ids.length === 0) return [];
    const expected = new Map(ids.map((id) => [id, this.#view.get(id)?.updated_at ?? '']));
    return this.#enqueue<string[]>((waiter) => ({ kind: 'prune', expected, removed: [], waiter }));
  }

  /** Why the disk refused the last write, while changes are held in memory; undefined once a write succeeds. */
  get refusal(): DiskWriteError | undefined {
    return this.#refusal;
  }

  /** Calls `listener` after each write that succeeds following a refusal: the held changes are then on disk. */
  onWritable(listener: () => void): void {
    this.#writableListeners.add(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
    // One last try at what the disk refused; if it still refuses, the last good file stays
    // (and a restart's reconcile finds the parts posted since in the channel).
    this.#retryHeld = true;
    this.#draining ??= this.#drain();
    // A drain that ends with more to do starts the next one itself: wait until none is left.
    for (let draining = this.#currentDrain(); draining !== null; draining = this.#currentDrain()) await draining;
    await Promise.all(this.#unlinking);
    await this.#lock?.release();
  }

  /** Read through a method: the type checker would keep `#draining` narrowed across the awaits that change it. */
  #currentDrain(): Promise<void> | null {
    return this.#draining;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`the progress store for ${this.file} is closed`);
  }

  #enqueue<T>(make: (waiter: Waiter<T>) => Op): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const op = make({ resolve, reject });
      applyOp(this.#view, op);
      this.#pending.push(op);
      this.#draining ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      // Yield once so a synchronous burst of changes joins a single write.
      await Promise.resolve();
      while (this.#pending.length > 0 || (this.#retryHeld && this.#held.length > 0)) {
        this.#retryHeld = false;
        // Held changes go first: the pending ones were built on top of them.
        const batch = [...this.#held.splice(0), ...this.#pending.splice(0)];
        await this.#flush(batch);
      }
    } finally {
      // Runs in the same tick as the last empty-queue check, so no change can slip between.
      this.#draining = null;
    }
  }

  async #flush(batch: Op[]): Promise<void> {
    const rejected = new Map<Op, unknown>();
    const held: Op[] = [];
    let wrote = false;
    let unlinkPrevious: (() => Promise<void>) | undefined;
    try {
      let base = this.#committed;
      let baseIdentity = this.#identity;
      const onDisk = await fsp.stat(this.file).then(identityOf, (error: unknown) => {
        if (errnoCode(error) === 'ENOENT') return undefined;
        throw error;
      });
      if (onDisk !== undefined && !sameIdentity(onDisk, this.#identity)) {
        // Another process wrote the file: build on what it wrote, record by record.
        const loaded = await readWithIdentity(this.file);
        if (loaded !== undefined) {
          base = stateOf(parseProgressText(this.file, loaded.text));
          baseIdentity = loaded.identity;
        }
      }
      const next: FileState = { top: base.top, records: new Map(base.records) };
      for (const op of batch) {
        const conflict = applyOp(next.records, op);
        if (conflict !== undefined) rejected.set(op, conflict);
      }
      if (rejected.size < batch.length) {
        unlinkPrevious = await writeDurably(this.file, serializeCached(next, this.#out), holdsKey(next));
        wrote = true;
        this.#committed = next;
        // Unknown identity just means the next write re-reads the file first.
        this.#identity = await fsp.stat(this.file).then(identityOf, () => undefined);
      } else {
        this.#committed = base;
        this.#identity = baseIdentity;
      }
    } catch (error) {
      const code = errnoCode(error) ?? '';
      const condition = REFUSALS[code];
      if (condition === undefined) {
        for (const op of batch) rejected.set(op, error);
      } else {
        this.#refusal = new DiskWriteError(this.file, code, condition, true, { cause: error });
        for (const op of batch) {
          if (rejected.has(op)) continue; // stale: refused for that, not held
          // An update records something that happened (a part Discord stored): hold it. A new
          // transfer or a prune has not happened yet: drop it, and its caller may try again.
          const kept = op.kind === 'update';
          rejected.set(op, new DiskWriteError(this.file, code, condition, kept, { cause: error }));
          if (kept) held.push(op);
        }
      }
    }
    this.#view = new Map(this.#committed.records);
    // A held change to a transfer whose creation was dropped goes with it.
    this.#held = held.filter((op) => applyOp(this.#view, op) === undefined);
    for (const op of this.#pending) applyOp(this.#view, op);
    for (const op of batch) {
      if (rejected.has(op)) op.waiter.reject(rejected.get(op));
      else settle(op);
    }
    if (wrote && this.#refusal !== undefined) this.#recovered();
    else if (this.#held.length > 0) this.#scheduleProbe();
    if (unlinkPrevious !== undefined) {
      const unlinking = unlinkPrevious().finally(() => this.#unlinking.delete(unlinking));
      this.#unlinking.add(unlinking);
    }
  }

  /** Tries the held changes again after a bounded, doubling wait (one timer at a time). */
  #scheduleProbe(): void {
    if (this.#closed || this.#probeTimer !== undefined) return;
    this.#probeTimer = setTimeout(
      () => {
        this.#probeTimer = undefined;
        this.#retryHeld = true;
        this.#draining ??= this.#drain();
      },
      probeDelayMs(++this.#probeAttempts, this.#probe),
    );
    // The bot stays up for its own reasons; a tool or a test must not be kept alive by this.
    this.#probeTimer.unref();
  }

  /** A write succeeded after a refusal: everything held is on disk now. */
  #recovered(): void {
    clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
    this.#probeAttempts = 0;
    this.#refusal = undefined;
    for (const listener of this.#writableListeners) {
      try {
        listener();
      } catch (error) {
        // A listener's own failure must not stop the writer loop; make it visible all the same.
        process.emitWarning(error instanceof Error ? error : new Error(String(error)), 'FileStoreListenerWarning');
      }
    }
  }
}
