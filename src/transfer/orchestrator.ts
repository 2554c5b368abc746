/**
 * The orchestrator: runs one transfer from its record to `complete`, or to
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
 *
 * The jobs around it have files of their own: part-sender.ts (messages in flight, retries,
 * recording what was confirmed), run-outcome.ts (how the run ends), failure.ts (reading a
 * failure into a note), resume/reconcile.ts (what a resumed run finds posted),
 * file-source.ts (reading and re-checking a local file), commit.ts (the commit point: the
 * manifest, then `complete`). Starting, stopping and recovering runs is the runner's
 * (runner.ts).
 */
import { DEFAULTS } from '../config.js';
import { DiskWriteError, messageOf, RetryFailure, SourceChangedError, TransitionError, UnknownTransferError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/types.js';
import type { TransferRecord } from '../store/schema.js';
import { statusChange } from '../store/apply.js';
import { canTransition } from '../store/state.js';
import type { ProgressStore, StoredTransfer } from '../store/types.js';
import type { PartSource, SourcePart } from './chunker.js';
import { commit, type PostedManifest } from './commit.js';
import { RunOutcome, type AbortStatus } from './run-outcome.js';
import { fileSourceChange, openFileSource, type OpenSource } from './file-source.js';
import { addPart, toRecord } from './part-records.js';
import { noteFailure, PartSender, runRetryOptions, type SendContext } from './part-sender.js';
import { packBatches, partName, totalChunks } from './plan.js';
import { dropMissing, needsReconcile, planResume } from './resume/reconcile.js';
import type { Random } from '../time/backoff.js';
import { isAbortError, type Sleep } from '../time/sleep.js';
import { retry } from './retry.js';
import type { ChunkSink, OutgoingPart, PostedPart, Reconciled } from './sink.js';

export interface OrchestratorConfig {
  maxChunksPerMessage: number;
  maxParallelUploads: number; // messages in flight at once
  retryLimit: number; // retries after the first attempt
  backoffBaseMs: number;
  /** How long a message may stay held, its request open, while one before it is sent again (the bot: UPLOAD_TIMEOUT_MS). */
  holdForRetryMs?: number | undefined;
  /** Sizes the part-number width when a source's size is unknown (README, 'Commands': part names). */
  maxFileSizeBytes?: number | undefined;
}

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
  /**
   * Called just before the run writes its end state (`complete` or not), so that from the
   * moment the record leaves `in_progress` its caller knows the run is only settling.
   */
  onEnding?: (() => void) | undefined;
  /** Told when a message's parts go out and when they settle. */
  onInFlight?: ((indices: readonly number[], inFlight: boolean) => void) | undefined;
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

/** Runs (or resumes) one transfer and resolves with its final record; never leaves it `in_progress`. */
export async function runTransfer(deps: TransferDeps, transferId: string, options: RunOptions = {}): Promise<StoredTransfer> {
  return new TransferRun(deps, transferId, options).run();
}

class TransferRun {
  readonly #deps: TransferDeps;
  readonly #id: string;
  readonly #signal: AbortSignal;
  readonly #abortStatus: () => AbortStatus;
  readonly #now: () => Date;
  #record!: StoredTransfer;
  readonly #outcome = new RunOutcome();
  /** What the part sender and the retries share with this run. */
  readonly #ctx: SendContext;
  readonly #sender: PartSender;
  /** Parts the sink found posted but never recorded; recorded when the stream reaches them. */
  #found = new Map<number, PostedPart>();
  /** A manifest the sink found posted but unrecorded: the commit point was passed already. */
  #foundManifest: PostedManifest | null = null;

  constructor(deps: TransferDeps, id: string, options: RunOptions) {
    this.#deps = deps;
    this.#id = id;
    this.#signal = options.signal ?? new AbortController().signal;
    const abortStatus = options.abortStatus ?? 'cancelled';
    this.#abortStatus = typeof abortStatus === 'function' ? abortStatus : () => abortStatus;
    this.#now = deps.now ?? (() => new Date());
    const { config } = deps;
    this.#ctx = {
      id,
      sink: deps.sink,
      log: deps.log,
      metrics: deps.metrics,
      signal: this.#signal,
      outcome: this.#outcome,
      retryLimit: config.retryLimit,
      backoffBaseMs: config.backoffBaseMs,
      maxParallelUploads: config.maxParallelUploads,
      holdForRetryMs: config.holdForRetryMs,
      random: deps.random,
      sleep: deps.sleep,
      now: this.#now,
      record: () => this.#record,
      save: (change) => this.#save(change),
      onInFlight: deps.onInFlight,
    };
    this.#sender = new PartSender(this.#ctx);
  }

  get #log() {
    return this.#deps.log;
  }

  async run(): Promise<StoredTransfer> {
    const initial = this.#deps.store.get(this.#id);
    if (initial === undefined) throw new UnknownTransferError(this.#id);
    if (initial.status !== 'in_progress' && !canTransition(initial.status, 'in_progress')) {
      throw new TransitionError(`transfer ${this.#id} is ${initial.status}; it cannot run again`);
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
      if (this.#deps.sink.reconcile && needsReconcile(this.#record, wasInterrupted)) await this.#reconcile();
      if (this.#settled()) return await this.#finish();
      const source = await this.#stream();
      if (this.#settled() || source === null) return await this.#finish();
      // A change during the last part's upload is caught by nothing else before the commit point.
      await this.#checkSource();
      if (this.#settled()) return await this.#finish();
      await commit(this.#ctx, source, this.#foundManifest, this.#deps.onEnding);
      return await this.#finish();
    } catch (err) {
      // A bug or a store that cannot write: still try not to leave the transfer in_progress.
      this.#log.error({ event: 'transfer_error', transfer_id: this.#id, err }, 'unexpected failure');
      this.#fail(`internal error: ${messageOf(err)}`);
      await this.#sender.drain();
      return await this.#finish();
    }
  }

  #settled(): boolean {
    return this.#outcome.settled(this.#signal);
  }

  #fail(note: string): void {
    this.#outcome.fail(note);
  }

  /** A resumed file source must be byte-for-byte the one planned: same size and mtime. */
  async #checkSource(): Promise<void> {
    const change = await fileSourceChange(this.#record);
    if (change !== null) this.#fail(change);
  }

  /** Before a resume: drop records of parts that are gone, remember parts posted but never recorded (resume/reconcile.ts). */
  async #reconcile(): Promise<void> {
    const reconcile = this.#deps.sink.reconcile!.bind(this.#deps.sink);
    let result: Reconciled;
    try {
      ({ value: result } = await retry(
        () => reconcile(this.#record, this.#signal),
        runRetryOptions(this.#ctx, () => undefined),
      ));
    } catch (err) {
      noteFailure(this.#ctx, err instanceof RetryFailure ? err.cause : err, 'checking the parts already posted');
      return;
    }
    const plan = planResume(this.#record, result);
    this.#found = plan.found;
    this.#foundManifest = plan.manifest;
    if (plan.dropped.length === 0) return;
    for (const part of plan.dropped) {
      this.#log.warn(
        { event: 'chunk_missing', transfer_id: this.#id, chunk: part.index, message_id: part.message_id },
        'posted part is gone; it will be sent again',
      );
    }
    await this.#save(dropMissing(plan));
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
      this.#fail(`cannot read the source: ${messageOf(err)}`);
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
          await this.#sender.dispatch(batch);
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
          await this.#sender.dispatch(batch);
          batch = [];
        }
        batch.push(outgoing);
      }
      if (!this.#settled()) await this.#sender.dispatch(batch);
    } catch (err) {
      if (this.#signal.aborted || isAbortError(err)) this.#outcome.abort();
      else if (err instanceof SourceChangedError) this.#fail(`source changed: ${err.message}`);
      else this.#fail(`read error: ${messageOf(err)}`);
    }
    await this.#sender.drain();
    if (!this.#settled() && t.total_chunks !== null && expected !== t.total_chunks) {
      this.#fail(`source changed: it ended after ${expected} of ${t.total_chunks} planned parts`);
    }
    return source;
  }

  async #recordFound(part: SourcePart, name: string, posted: PostedPart): Promise<void> {
    const record = toRecord({ index: part.index, name, offset: part.offset, size: part.size, sha256: part.sha256 }, posted);
    await this.#save((draft) => addPart(draft, record));
    this.#log.info(
      { event: 'chunk_found', transfer_id: this.#id, chunk: part.index, message_id: posted.message_id },
      'posted part recorded without sending it again',
    );
  }

  /** Writes the end state of a run that did not complete. */
  async #finish(): Promise<StoredTransfer> {
    if (this.#record.status === 'complete') return this.#record;
    const ending = this.#outcome.ending(this.#record, this.#signal, this.#abortStatus());
    this.#deps.onEnding?.();
    await this.#save(ending.change);
    const partsDone = this.#record.parts.length;
    if (ending.kind === 'aborted') {
      this.#log.info(
        { event: 'transfer_cancelled', transfer_id: this.#id, status: this.#record.status, parts_done: partsDone },
        'transfer_cancelled',
      );
    } else if (ending.kind === 'paused') {
      const { condition, errno } = this.#outcome.paused!;
      this.#log.warn({ event: 'transfer_paused', transfer_id: this.#id, reason: condition, code: errno, parts_done: partsDone }, 'transfer_paused');
    } else {
      this.#log.error({ event: 'transfer_error', transfer_id: this.#id, reason: this.#outcome.failure ?? undefined }, 'transfer_error');
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
      if (this.#outcome.pause(err)) this.#deps.onPaused?.(err);
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
}
