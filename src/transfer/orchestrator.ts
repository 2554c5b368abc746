/**
 * The orchestrator (SPEC section 3): runs one transfer from its record to `complete`, or to
 * a terminal state that keeps every part already posted so a later run finishes the job.
 *
 * It always streams the source from part 0: parts already recorded are not sent again, but
 * their fresh hash is compared with the recorded one (a changed source ends in `error`,
 * never a mixed file), and the whole-file hash comes out of the same pass.
 * Everything it touches arrives through `deps`: a ChunkSink, a ProgressStore, the source.
 *
 * A progress file the disk refuses to write (DiskWriteError) pauses the run rather than
 * failing it: the store keeps the change in memory, the run stops dispatching, settles what
 * is in flight and ends `interrupted` with a `paused: …` note, resumable by the next run.
 */
import { stat } from 'node:fs/promises';
import { DEFAULTS } from '../config.js';
import { DiskWriteError, errnoCode, RetryFailure, SinkError, SourceChangedError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/types.js';
import type { PartRecord, TransferRecord, TransferStatus } from '../store/schema.js';
import { statusChange } from '../store/apply.js';
import { canTransition } from '../store/state.js';
import type { NewTransfer, ProgressStore, StoredTransfer } from '../store/types.js';
import { readParts, type PartSource, type SourcePart } from './chunker.js';
import { MANIFEST_FORMAT, type Manifest } from './manifest.js';
import { newTransferId, packBatches, partName, sanitizeName, totalChunks } from './plan.js';
import { isAbortError, retry, type Random, type Sleep } from './retry.js';
import type { ChunkSink, OutgoingPart, PostedPart, Reconciled } from './sink.js';

export interface OrchestratorConfig {
  maxChunksPerMessage: number;
  maxParallelUploads: number; // messages in flight at once
  retryLimit: number; // retries after the first attempt
  backoffBaseMs: number;
  /** Sizes the part-number width when a source's size is unknown (SPEC section 3 step 4). */
  maxFileSizeBytes?: number | undefined;
}

export type AbortStatus = 'cancelled' | 'interrupted';

export type OpenSource = (transfer: StoredTransfer, signal: AbortSignal) => PartSource;

export interface TransferDeps {
  store: ProgressStore;
  sink: ChunkSink;
  /** Default: `openFileSource` (the chunker over `source.real_path`). */
  openSource?: OpenSource | undefined;
  config: OrchestratorConfig;
  log: Logger;
  random?: Random | undefined;
  sleep?: Sleep | undefined;
  now?: (() => Date) | undefined;
  /** Called with the saved record after every progress write. */
  onProgress?: ((transfer: StoredTransfer) => void) | undefined;
  /** Called once when the disk refuses a progress write and the run pauses (see the top of this file). */
  onPaused?: ((error: DiskWriteError) => void) | undefined;
  /** Counts posted parts and retries for /metrics; absent, nothing is counted. */
  metrics?: Metrics | undefined;
}

export interface RunOptions {
  /** Aborting stops dispatch at once; in-flight sends settle and what succeeded is recorded. */
  signal?: AbortSignal | undefined;
  /**
   * The status an abort ends in: `cancelled` (a user's /cancel, the default) or `interrupted`
   * (shutdown). A function is asked when the run ends, so the caller can decide after aborting.
   */
  abortStatus?: AbortStatus | (() => AbortStatus) | undefined;
}

/** The chunker over a file source, at the size and length the transfer was planned with. */
export const openFileSource: OpenSource = (transfer, signal) => {
  if (transfer.source.kind !== 'file') throw new Error(`transfer ${transfer.id}: no reader for a ${transfer.source.kind} source`);
  return readParts(transfer.source.real_path, {
    chunkSize: transfer.chunk_size_bytes,
    fileSize: transfer.source.size,
    mtimeMs: transfer.source.mtime_ms,
    // Parts travel as file-backed slices: memory stays flat however many wait for an upload.
    keepData: false,
    name: transfer.source.path,
    signal,
  });
};

/** The record for a local file, ready for `store.create`. */
export async function planFileTransfer(input: {
  realPath: string;
  relPath: string;
  chunkSize: number;
  ownerId: string;
  channelId: string;
  guildId?: string | null | undefined;
}): Promise<NewTransfer> {
  const info = await stat(input.realPath);
  if (!info.isFile()) throw new Error(`${input.relPath} is not a regular file`);
  const id = newTransferId();
  // The name the user asked for, not a symlink target's.
  const fileName = sanitizeName(input.relPath, id);
  return {
    id,
    source: { kind: 'file', path: input.relPath, real_path: input.realPath, size: info.size, mtime_ms: info.mtimeMs },
    file_name: fileName,
    file_size: info.size,
    chunk_size_bytes: input.chunkSize,
    total_chunks: totalChunks(info.size, input.chunkSize),
    owner_id: input.ownerId,
    channel_id: input.channelId,
    guild_id: input.guildId ?? null,
  };
}

/** Runs (or resumes) one transfer and resolves with its final record; never leaves it `in_progress`. */
export async function runTransfer(deps: TransferDeps, transferId: string, options: RunOptions = {}): Promise<StoredTransfer> {
  return new TransferRun(deps, transferId, options).run();
}

/** A class-shaped entry point for callers that keep the dependencies around. */
export class Orchestrator {
  constructor(private readonly deps: TransferDeps) {}

  run(transferId: string, options: RunOptions = {}): Promise<StoredTransfer> {
    return runTransfer(this.deps, transferId, options);
  }
}

type Failure = { note: string };

class TransferRun {
  readonly #deps: TransferDeps;
  readonly #id: string;
  readonly #signal: AbortSignal;
  readonly #abortStatus: () => AbortStatus;
  readonly #now: () => Date;
  #record!: StoredTransfer;
  #failure: Failure | null = null;
  #aborted = false;
  /** Why the disk refused a progress write, which stops this run as `interrupted`. */
  #paused: DiskWriteError | null = null;
  readonly #inFlight = new Set<Promise<void>>();
  /** Attempts not yet written (from batches that failed), merged into the final write. */
  readonly #unsavedAttempts = new Map<number, number>();
  #unsavedRetries = 0;
  /** Parts the sink found posted but never recorded; recorded when the stream reaches them. */
  readonly #found = new Map<number, PostedPart>();
  /** A manifest the sink found posted but unrecorded: the commit point was passed already. */
  #foundManifest: { message_id: string; attachment_id: string } | null = null;

  constructor(deps: TransferDeps, id: string, options: RunOptions) {
    this.#deps = deps;
    this.#id = id;
    this.#signal = options.signal ?? new AbortController().signal;
    const abortStatus = options.abortStatus ?? 'cancelled';
    this.#abortStatus = typeof abortStatus === 'function' ? abortStatus : () => abortStatus;
    this.#now = deps.now ?? (() => new Date());
  }

  get #log() {
    return this.#deps.log;
  }

  async run(): Promise<StoredTransfer> {
    const initial = this.#deps.store.get(this.#id);
    if (initial === undefined) throw new Error(`unknown transfer ${this.#id}`);
    if (initial.status !== 'in_progress' && !canTransition(initial.status, 'in_progress')) {
      throw new Error(`transfer ${this.#id} is ${initial.status}; it cannot run again`);
    }
    const wasInterrupted = initial.status === 'interrupted';
    this.#record = initial;
    if (initial.status !== 'in_progress') await this.#save(statusChange('in_progress'));
    this.#log.info(
      {
        event: 'transfer_started',
        transfer_id: this.#id,
        total_chunks: this.#record.total_chunks,
        file_size: this.#record.file_size,
        parts_done: this.#record.parts.length,
        resumed: this.#record.parts.length > 0 || wasInterrupted,
      },
      'transfer_started',
    );
    if (initial.status === 'in_progress') this.#progress();
    try {
      await this.#checkSource();
      if (this.#settled()) return await this.#finish();
      if (this.#deps.sink.reconcile && (this.#record.parts.length > 0 || wasInterrupted)) await this.#reconcile();
      if (this.#settled()) return await this.#finish();
      const source = await this.#stream();
      if (this.#settled() || source === null) return await this.#finish();
      // A change during the last part's upload is caught by nothing else before the commit point.
      await this.#checkSource();
      if (this.#settled()) return await this.#finish();
      await this.#commit(source);
      return await this.#finish();
    } catch (err) {
      // A bug or a store that cannot write: still try not to leave the transfer in_progress.
      this.#log.error({ event: 'transfer_error', transfer_id: this.#id, err }, 'unexpected failure');
      this.#fail(`internal error: ${(err as Error).message}`);
      await Promise.allSettled([...this.#inFlight]);
      return await this.#finish();
    }
  }

  #settled(): boolean {
    if (this.#signal.aborted) this.#aborted = true;
    return this.#failure !== null || this.#aborted || this.#paused !== null;
  }

  #fail(note: string): void {
    this.#failure ??= { note };
  }

  #pause(error: DiskWriteError): void {
    if (this.#paused !== null) return;
    this.#paused = error;
    this.#deps.onPaused?.(error);
  }

  /** A resumed file source must be byte-for-byte the one planned: same size and mtime. */
  async #checkSource(): Promise<void> {
    const source = this.#record.source;
    if (source.kind !== 'file') return;
    let info;
    try {
      info = await stat(source.real_path);
    } catch (err) {
      // Named as the user knows it: Node's message carries the path on the host.
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') this.#fail(`source changed: ${source.path} no longer exists`);
      else this.#fail(`source unavailable: ${source.path}: ${code ?? (err as Error).message}`);
      return;
    }
    const changes: string[] = [];
    if (info.size !== source.size) changes.push(`size ${source.size} → ${info.size} bytes`);
    if (info.mtimeMs !== source.mtime_ms) changes.push(`modified at ${new Date(info.mtimeMs).toISOString()}, planned with ${new Date(source.mtime_ms).toISOString()}`);
    if (changes.length > 0) this.#fail(`source changed: ${source.path}: ${changes.join(', ')}`);
  }

  /** Before a resume: drop records of parts that are gone, remember parts posted but never recorded. */
  async #reconcile(): Promise<void> {
    const reconcile = this.#deps.sink.reconcile!.bind(this.#deps.sink);
    let result: Reconciled;
    try {
      ({ value: result } = await retry(() => reconcile(this.#record, this.#signal), this.#retryOptions(() => undefined)));
    } catch (err) {
      this.#classify(err instanceof RetryFailure ? err.cause : err, 'checking the parts already posted');
      return;
    }
    this.#foundManifest = result.manifest ?? null;
    const missing = new Set(result.missing);
    const recorded = new Set(this.#record.parts.map((p) => p.index));
    for (const posted of result.found) if (!recorded.has(posted.index)) this.#found.set(posted.index, posted);
    const dropped = this.#record.parts.filter((p) => missing.has(p.index));
    if (dropped.length === 0) return;
    for (const part of dropped) {
      this.#log.warn({ event: 'chunk_missing', transfer_id: this.#id, chunk: part.index, message_id: part.message_id }, 'posted part is gone; it will be sent again');
    }
    await this.#save((draft) => {
      draft.parts = draft.parts.filter((p) => !missing.has(p.index));
      draft.completed_chunks = draft.completed_chunks.filter((i) => !missing.has(i));
      draft.bytes_done = sumSizes(draft.parts);
      draft.notes.push(`resume: ${dropped.length} posted part(s) no longer found, sending again: ${dropped.map((p) => p.name).join(', ')}`);
    });
  }

  /** Reads every part once; dispatches the missing ones in batches. Null when the read failed. */
  async #stream(): Promise<PartSource | null> {
    const t = this.#record;
    const { maxChunksPerMessage } = this.#deps.config;
    const recorded = new Map(t.parts.map((p) => [p.index, p]));
    const width = t.total_chunks ?? totalChunks(this.#deps.config.maxFileSizeBytes ?? DEFAULTS.MAX_FILE_SIZE_BYTES, t.chunk_size_bytes);
    let source: PartSource;
    try {
      source = (this.#deps.openSource ?? openFileSource)(t, this.#signal);
    } catch (err) {
      this.#fail(`cannot read the source: ${(err as Error).message}`);
      return null;
    }
    let batch: OutgoingPart[] = [];
    let expected = 0;
    try {
      for await (const part of source) {
        if (this.#settled()) break;
        if (part.index !== expected) throw new Error(`source yielded part ${part.index}, expected ${expected}`);
        expected++;
        if (t.total_chunks !== null && part.index >= t.total_chunks) {
          this.#fail(`source changed: it has more than the ${t.total_chunks} planned parts`);
          break;
        }
        const name = partName(t.file_name, part.index, width);
        const known = recorded.get(part.index);
        const found = this.#found.get(part.index);
        if (known !== undefined || found !== undefined) {
          // Keep each message to consecutive parts.
          await this.#dispatch(batch);
          batch = [];
          if (known !== undefined && (known.sha256 !== part.sha256 || known.size !== part.size)) {
            this.#fail(`source changed: part ${part.index} differs from the posted ${known.name}`);
            break;
          }
          if (known === undefined && found !== undefined) await this.#recordFound(part, name, found);
          continue;
        }
        const outgoing: OutgoingPart = { index: part.index, name, offset: part.offset, size: part.size, sha256: part.sha256 };
        if (part.file) outgoing.file = part.file;
        else outgoing.data = part.data;
        // packBatches holds the rule (≤ N parts, ≤ 25 MiB, a big part alone): ask it whether this part still fits.
        if (batch.length > 0 && packBatches([...batch, outgoing], maxChunksPerMessage).length > 1) {
          await this.#dispatch(batch);
          batch = [];
        }
        batch.push(outgoing);
      }
      if (!this.#settled()) await this.#dispatch(batch);
    } catch (err) {
      if (this.#signal.aborted || isAbortError(err)) this.#aborted = true;
      else if (err instanceof SourceChangedError) this.#fail(`source changed: ${err.message}`);
      else this.#fail(`read error: ${(err as Error).message}`);
    }
    await Promise.allSettled([...this.#inFlight]);
    if (!this.#settled() && t.total_chunks !== null && expected !== t.total_chunks) {
      this.#fail(`source changed: it ended after ${expected} of ${t.total_chunks} planned parts`);
    }
    return source;
  }

  /** Waits for a free slot (the reader pauses meanwhile: backpressure), then sends in the background. */
  async #dispatch(batch: OutgoingPart[]): Promise<void> {
    if (batch.length === 0) return;
    while (this.#inFlight.size >= this.#deps.config.maxParallelUploads) await Promise.race(this.#inFlight);
    if (this.#settled()) return;
    const task: Promise<void> = this.#sendBatch(batch).finally(() => this.#inFlight.delete(task));
    this.#inFlight.add(task);
  }

  /** Sends one message with retries; never rejects: failures land in #failure / #aborted. */
  async #sendBatch(batch: OutgoingPart[]): Promise<void> {
    const first = batch[0]!;
    const nonce = `${this.#id.slice('upload_'.length)}.${first.index}`;
    let attempts = 0;
    let startedAt = this.#now().getTime();
    try {
      const { value: posted } = await retry(
        (attempt) => {
          attempts = attempt;
          startedAt = this.#now().getTime();
          return this.#deps.sink.sendParts(this.#record, batch, { signal: this.#signal, nonce, attempt });
        },
        this.#retryOptions((err, attempt, delayMs) => {
          // One retry per extra attempt of the message, as `retries` in the progress file counts them.
          this.#deps.metrics?.retry(reasonOf(err));
          for (const part of batch) {
            this.#log.warn(
              { event: 'chunk_retry', transfer_id: this.#id, chunk: part.index, attempt, reason: reasonOf(err), delay_ms: delayMs },
              'chunk_retry',
            );
          }
        }),
      );
      const latency = this.#now().getTime() - startedAt;
      const byIndex = new Map(posted.map((p) => [p.index, p]));
      const unanswered = batch.filter((p) => !byIndex.has(p.index));
      if (unanswered.length > 0) {
        this.#noteAttempts(batch, attempts);
        this.#fail(`the destination did not confirm ${unanswered.map((p) => p.name).join(', ')}`);
        return;
      }
      await this.#save((draft) => {
        for (const part of batch) {
          const ids = byIndex.get(part.index)!;
          addPart(draft, toRecord(part, ids));
          draft.chunk_attempts[String(part.index)] = (draft.chunk_attempts[String(part.index)] ?? 0) + attempts;
        }
        draft.retries += attempts - 1;
      });
      for (const part of batch) {
        this.#log.info({ event: 'chunk_ok', transfer_id: this.#id, chunk: part.index, latency_ms: latency, attempts }, 'chunk_ok');
        this.#deps.metrics?.partPosted(part.size, latency / 1000);
      }
    } catch (err) {
      this.#noteAttempts(batch, attempts);
      const cause = err instanceof RetryFailure ? err.cause : err;
      const names = batch.map((p) => p.name).join(', ');
      const refused = batch.map((p) => `${p.name} (${p.size} bytes)`).join(', ');
      this.#classify(cause, `sending ${names}`, `the destination refused ${refused} as too large`, attempts);
    }
  }

  /** Maps a failure onto the run's outcome. */
  #classify(err: unknown, doing: string, tooLarge?: string, attempts?: number): void {
    if (this.#signal.aborted || isAbortError(err) || (err instanceof SinkError && err.kind === 'aborted')) {
      this.#aborted = true;
      return;
    }
    if (err instanceof SinkError) {
      if (err.reason === 'source_changed') {
        this.#fail(`source changed: ${err.message} (${doing})`);
      } else if (err.kind === 'too_large') {
        this.#fail(`${tooLarge ?? `${doing}: refused as too large`}: ${err.message}`);
      } else if (err.kind === 'transient') {
        this.#fail(`${doing}: gave up after ${attempts ?? 1} attempt(s): ${err.message}`);
      } else {
        this.#fail(`${doing}: ${err.message}`);
      }
      return;
    }
    this.#fail(`${doing}: ${(err as Error).message ?? String(err)}`);
  }

  #noteAttempts(batch: OutgoingPart[], attempts: number): void {
    if (attempts === 0) return;
    // Like a successful batch: one retry per extra attempt of the message, not per part.
    this.#unsavedRetries += attempts - 1;
    for (const part of batch) this.#unsavedAttempts.set(part.index, (this.#unsavedAttempts.get(part.index) ?? 0) + attempts);
  }

  async #recordFound(part: SourcePart, name: string, posted: PostedPart): Promise<void> {
    const record = toRecord({ index: part.index, name, offset: part.offset, size: part.size, sha256: part.sha256 }, posted);
    await this.#save((draft) => addPart(draft, record));
    this.#log.info({ event: 'chunk_found', transfer_id: this.#id, chunk: part.index, message_id: posted.message_id }, 'posted part recorded without sending it again');
  }

  /** All parts are posted: post the manifest (the commit point), then mark the transfer complete. */
  async #commit(source: PartSource): Promise<void> {
    const t = this.#record;
    const fileSha256 = source.wholeFileSha256();
    if (fileSha256 === null) {
      this.#fail('the source did not produce a whole-file hash');
      return;
    }
    const parts = [...t.parts].sort((a, b) => a.index - b.index);
    const total = t.total_chunks ?? parts.length;
    const gaps = Array.from({ length: total }, (_, i) => i).filter((i) => parts[i]?.index !== i);
    if (parts.length !== total || gaps.length > 0) {
      this.#fail(`parts missing after the stream: ${gaps.join(', ') || `${parts.length} of ${total}`}`);
      return;
    }
    const fileSize = sumSizes(parts);
    const completedAt = this.#now().toISOString();
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      version: 1,
      file: { name: t.file_name, size: fileSize, sha256: fileSha256 },
      chunk_size: t.chunk_size_bytes,
      chunks: parts.map((p) => ({
        index: p.index,
        name: p.name,
        offset: p.offset,
        size: p.size,
        sha256: p.sha256,
        message_id: p.message_id,
        attachment_id: p.attachment_id,
      })),
      guild_id: t.guild_id,
      channel_id: t.channel_id,
      transfer_id: t.id,
      created_at: t.created_at,
      completed_at: completedAt,
    };
    const posted = this.#foundManifest ?? (await this.#postManifest(manifest));
    if (posted === null) return;
    if (posted === this.#foundManifest) {
      this.#log.info({ event: 'manifest_found', transfer_id: this.#id, message_id: posted.message_id }, 'posted manifest recorded without posting it again');
    }
    await this.#save((draft) => {
      draft.manifest_message_id = posted.message_id;
      draft.file_sha256 = fileSha256;
      draft.file_size ??= fileSize;
      draft.total_chunks ??= total;
      draft.completed_at = completedAt;
      draft.status = 'complete';
    });
    const startedAt = this.#record.started_at ? Date.parse(this.#record.started_at) : Number.NaN;
    this.#log.info(
      {
        event: 'transfer_complete',
        transfer_id: this.#id,
        bytes: fileSize,
        parts: total,
        manifest_message_id: posted.message_id,
        ...(Number.isNaN(startedAt) ? {} : { duration_ms: Date.parse(completedAt) - startedAt }),
      },
      'transfer_complete',
    );
  }

  /** Posts the manifest with retries; null when it failed (the failure is recorded). */
  async #postManifest(manifest: Manifest): Promise<{ message_id: string; attachment_id: string } | null> {
    const nonce = `${this.#id.slice('upload_'.length)}.m`;
    try {
      const { value } = await retry(
        (attempt) => this.#deps.sink.sendManifest(this.#record, manifest, { signal: this.#signal, nonce, attempt }),
        this.#retryOptions((err, attempt, delayMs) => {
          this.#deps.metrics?.retry(reasonOf(err));
          this.#log.warn({ event: 'chunk_retry', transfer_id: this.#id, chunk: 'manifest', attempt, reason: reasonOf(err), delay_ms: delayMs }, 'chunk_retry');
        }),
      );
      return value;
    } catch (err) {
      this.#classify(err instanceof RetryFailure ? err.cause : err, `posting the manifest`, undefined, err instanceof RetryFailure ? err.attempts : 1);
      return null;
    }
  }

  /** Writes the end state of a run that did not complete. */
  async #finish(): Promise<StoredTransfer> {
    if (this.#record.status === 'complete') return this.#record;
    const attempts = new Map(this.#unsavedAttempts);
    const retries = this.#unsavedRetries;
    this.#unsavedAttempts.clear();
    this.#unsavedRetries = 0;
    const aborted = this.#aborted || this.#signal.aborted;
    // A failure still ends in `error`; a pause alone is resumable, by itself once the disk allows.
    const paused = this.#paused !== null && !aborted && this.#failure === null;
    const status: TransferStatus = aborted ? this.#abortStatus() : paused ? 'interrupted' : 'error';
    const done = `${this.#record.parts.length} of ${this.#record.total_chunks ?? '?'} parts`;
    const notes: string[] = [];
    if (this.#failure) notes.push(this.#failure.note);
    else if (paused) notes.push(`paused: cannot write the progress file (${this.#paused!.condition}) after ${done}; it resumes by itself once the file can be written`);
    else if (!aborted) notes.push('stopped before completion');
    if (aborted) notes.push(`${status} after ${done}`);
    await this.#save((draft) => {
      for (const [index, n] of attempts) {
        draft.chunk_attempts[String(index)] = (draft.chunk_attempts[String(index)] ?? 0) + n;
      }
      draft.retries += retries;
      draft.notes.push(...notes);
      if (draft.status !== status && canTransition(draft.status, status)) draft.status = status;
    });
    if (aborted) {
      this.#log.info({ event: 'transfer_cancelled', transfer_id: this.#id, status: this.#record.status, parts_done: this.#record.parts.length }, 'transfer_cancelled');
    } else if (paused) {
      this.#log.warn(
        { event: 'transfer_paused', transfer_id: this.#id, reason: this.#paused!.condition, code: this.#paused!.errno, parts_done: this.#record.parts.length },
        'transfer_paused',
      );
    } else {
      this.#log.error({ event: 'transfer_error', transfer_id: this.#id, reason: this.#failure?.note }, 'transfer_error');
    }
    return this.#record;
  }

  async #save(change: (draft: TransferRecord) => void): Promise<void> {
    try {
      this.#record = await this.#deps.store.update(this.#id, change);
    } catch (err) {
      if (!(err instanceof DiskWriteError && err.kept)) throw err;
      // The store keeps the change in memory and writes it once the disk allows: carry on
      // from it (a part Discord stored stays recorded), but stop here.
      this.#record = this.#deps.store.get(this.#id) ?? this.#record;
      this.#pause(err);
    }
    this.#progress();
  }

  #progress(): void {
    try {
      this.#deps.onProgress?.(this.#record);
    } catch (err) {
      this.#log.warn({ transfer_id: this.#id, err }, 'progress callback failed');
    }
  }

  #retryOptions(onRetry: (err: unknown, attempt: number, delayMs: number) => void) {
    const { retryLimit, backoffBaseMs } = this.#deps.config;
    return {
      limit: retryLimit,
      baseMs: backoffBaseMs,
      retryable: (err: unknown) => err instanceof SinkError && err.kind === 'transient',
      signal: this.#signal,
      random: this.#deps.random,
      sleep: this.#deps.sleep,
      onRetry,
      // Once the transfer has failed or paused, other batches stop retrying and settle.
      stop: () => this.#failure !== null || this.#paused !== null,
    };
  }
}

function toRecord(part: Pick<OutgoingPart, 'index' | 'name' | 'offset' | 'size' | 'sha256'>, ids: Pick<PostedPart, 'message_id' | 'attachment_id'>): PartRecord {
  return {
    index: part.index,
    name: part.name,
    offset: part.offset,
    size: part.size,
    sha256: part.sha256,
    message_id: ids.message_id,
    attachment_id: ids.attachment_id,
  };
}

/**
 * Adds (or replaces) a part record, keeping parts and completed_chunks sorted and bytes_done
 * true. Parts mostly arrive in order, so that case appends without touching the rest: this
 * runs on every message, and a pass over every part each time made a transfer's cost grow
 * with the square of its part count.
 */
function addPart(draft: TransferRecord, record: PartRecord): void {
  const last = draft.parts.at(-1);
  if (last === undefined || last.index < record.index) {
    draft.parts.push(record);
    draft.bytes_done += record.size;
  } else {
    draft.parts = draft.parts.filter((p) => p.index !== record.index);
    draft.parts.push(record);
    draft.parts.sort((a, b) => a.index - b.index);
    draft.bytes_done = sumSizes(draft.parts);
  }
  const chunks = draft.completed_chunks;
  const lastIndex = chunks.at(-1);
  if (lastIndex === undefined || lastIndex < record.index) chunks.push(record.index);
  else if (!chunks.includes(record.index)) {
    chunks.push(record.index);
    chunks.sort((a, b) => a - b);
  }
}

function sumSizes(parts: readonly { size: number }[]): number {
  return parts.reduce((sum, p) => sum + p.size, 0);
}

function reasonOf(err: unknown): string {
  if (err instanceof SinkError) return err.reason;
  return err instanceof Error ? err.message : String(err);
}
