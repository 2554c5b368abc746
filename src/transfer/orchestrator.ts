/**
 * The orchestrator: runs one transfer from its record to `complete`, or to
 * a terminal state that keeps every part already posted so a later run finishes the job.
 *
 * It always streams the source from part 0: parts already recorded are not sent again, but
 * their fresh hash is compared with the recorded one (a changed source ends in `error`,
 * never a mixed file), and the whole-file hash comes out of the same pass.
 * Everything it touches arrives through `deps`: a ChunkSink, a ProgressStore, the source, and
 * the limits (the bot and the CLI pass them from config.ts).
 *
 * A progress file the disk refuses to write (DiskWriteError) pauses the run rather than
 * failing it: the store keeps the change in memory, the run stops dispatching, settles what
 * is in flight and ends `interrupted` with a `paused: …` note, resumable by the next run.
 *
 * The jobs around it have files of their own: part-sender.ts (messages in flight, retries,
 * recording what was confirmed), run-record.ts (the record and its writes), retry-policy.ts,
 * reporter.ts (log lines, metrics, the caller's callbacks), run-outcome.ts (how the run
 * ends), failure.ts (reading a failure into a note), resume/reconcile.ts (what a resumed run
 * finds posted), file-source.ts (reading and re-checking a local file), commit.ts (the commit
 * point: the manifest, then `complete`). Starting, stopping and recovering runs is the
 * runner's (runner.ts). CONTRIBUTING.md walks through one /split from command to posted part.
 */
import { messageOf, RetryFailure, SourceChangedError, TransitionError, UnknownTransferError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/types.js';
import { statusChange } from '../store/apply.js';
import { canTransition } from '../store/state.js';
import type { ProgressStore, StoredTransfer } from '../store/types.js';
import type { PartSource, SourcePart } from './chunker.js';
import { commit } from './commit.js';
import { fileSourceChange, openFileSource, type OpenSource } from './file-source.js';
import { addPart, toRecord } from './part-records.js';
import { PartSender, type SenderCollaborators, type SenderLimits } from './part-sender.js';
import { packBatches, partName, totalChunks } from './plan.js';
import { RunReporter, type RunCallbacks } from './reporter.js';
import { dropMissing, needsReconcile, planResume } from './resume/reconcile.js';
import type { Random } from '../time/backoff.js';
import { isAbortError, type Sleep } from '../time/sleep.js';
import { RetryPolicy, type RetryLimits } from './retry-policy.js';
import { RunOutcome, type AbortStatus } from './run-outcome.js';
import { RunRecord } from './run-record.js';
import type { ChunkSink, OutgoingPart, PostedManifest, PostedPart, Reconciled } from './sink.js';

/** The limits of a run, from the caller's configuration (config.ts). */
export interface OrchestratorConfig extends RetryLimits, SenderLimits {
  maxChunksPerMessage: number;
  /** MAX_FILE_SIZE_BYTES: sizes the part-number width when a source's size is unknown (README, 'Commands': part names). */
  maxFileSizeBytes: number;
}

export interface TransferDeps extends RunCallbacks {
  store: ProgressStore;
  sink: ChunkSink;
  /** Default: `openFileSource` (the chunker over `source.real_path`). */
  openSource?: OpenSource | undefined;
  config: OrchestratorConfig;
  log: Logger;
  random?: Random | undefined;
  sleep?: Sleep | undefined;
  now?: (() => Date) | undefined;
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
  const initial = deps.store.get(transferId);
  if (initial === undefined) throw new UnknownTransferError(transferId);
  if (initial.status !== 'in_progress' && !canTransition(initial.status, 'in_progress')) {
    throw new TransitionError(`transfer ${transferId} is ${initial.status}; it cannot run again`);
  }
  return new TransferRun(deps, initial, options).run();
}

class TransferRun {
  readonly #deps: TransferDeps;
  readonly #abortStatus: () => AbortStatus;
  readonly #outcome: RunOutcome;
  readonly #reporter: RunReporter;
  readonly #record: RunRecord;
  /** The run's collaborators, as the part sender and the commit take them. */
  readonly #run: SenderCollaborators;
  readonly #sender: PartSender;
  /** Parts the sink found posted but never recorded; recorded when the stream reaches them. */
  #found = new Map<number, PostedPart>();
  /** A manifest the sink found posted but unrecorded: the commit point was passed already. */
  #foundManifest: PostedManifest | null = null;

  constructor(deps: TransferDeps, initial: StoredTransfer, options: RunOptions) {
    this.#deps = deps;
    const abortStatus = options.abortStatus ?? 'cancelled';
    this.#abortStatus = typeof abortStatus === 'function' ? abortStatus : () => abortStatus;
    this.#outcome = new RunOutcome(options.signal ?? new AbortController().signal);
    this.#reporter = new RunReporter(initial.id, deps.log, deps.metrics, deps);
    this.#record = new RunRecord(deps.store, initial, this.#outcome, this.#reporter);
    this.#run = {
      sink: deps.sink,
      record: this.#record,
      retries: new RetryPolicy(deps.config, this.#outcome, { random: deps.random, sleep: deps.sleep }),
      reporter: this.#reporter,
      outcome: this.#outcome,
      now: deps.now ?? (() => new Date()),
    };
    this.#sender = new PartSender(this.#run, deps.config);
  }

  get #current(): StoredTransfer {
    return this.#record.current;
  }

  async run(): Promise<StoredTransfer> {
    const initial = this.#current;
    const wasInterrupted = initial.status === 'interrupted';
    if (initial.status !== 'in_progress') await this.#record.save(statusChange('in_progress'));
    this.#reporter.started(this.#current, this.#current.parts.length > 0 || wasInterrupted);
    if (initial.status === 'in_progress') this.#reporter.progress(this.#current);
    const stopped = () => this.#outcome.stopped();
    try {
      await this.#checkSource();
      if (stopped()) return await this.#finish();
      if (this.#deps.sink.reconcile && needsReconcile(this.#current, wasInterrupted))
        await this.#reconcile(this.#deps.sink.reconcile.bind(this.#deps.sink));
      if (stopped()) return await this.#finish();
      const source = await this.#stream();
      if (stopped() || source === null) return await this.#finish();
      // A change during the last part's upload is caught by nothing else before the commit point.
      await this.#checkSource();
      if (stopped()) return await this.#finish();
      await commit(this.#run, source, this.#foundManifest);
      return await this.#finish();
    } catch (err) {
      // A bug or a store that cannot write: still try not to leave the transfer in_progress.
      this.#reporter.unexpected(err);
      this.#outcome.fail(`internal error: ${messageOf(err)}`);
      await this.#sender.drain();
      return await this.#finish();
    }
  }

  /** A resumed file source must be byte-for-byte the one planned: same size and mtime. */
  async #checkSource(): Promise<void> {
    const change = await fileSourceChange(this.#current);
    if (change !== null) this.#outcome.fail(change);
  }

  /** Before a resume: drop records of parts that are gone, remember parts posted but never recorded (resume/reconcile.ts). */
  async #reconcile(reconcile: NonNullable<ChunkSink['reconcile']>): Promise<void> {
    let result: Reconciled;
    try {
      ({ value: result } = await this.#run.retries.run(
        () => reconcile(this.#current, this.#outcome.signal),
        () => undefined,
      ));
    } catch (err) {
      this.#outcome.failWith(err instanceof RetryFailure ? err.cause : err, 'checking the parts already posted');
      return;
    }
    const plan = planResume(this.#current, result);
    this.#found = plan.found;
    this.#foundManifest = plan.manifest;
    if (plan.dropped.length === 0) return;
    for (const part of plan.dropped) this.#reporter.partMissing(part.index, part.message_id);
    await this.#record.save(dropMissing(plan));
  }

  /** Reads every part once; dispatches the missing ones in batches. Null when the read failed. */
  async #stream(): Promise<PartSource | null> {
    const t = this.#current;
    const outcome = this.#outcome;
    const { maxChunksPerMessage, maxFileSizeBytes } = this.#deps.config;
    const recorded = new Map(t.parts.map((p) => [p.index, p]));
    const width = t.total_chunks ?? totalChunks(maxFileSizeBytes, t.chunk_size_bytes);
    let source: PartSource;
    try {
      source = (this.#deps.openSource ?? openFileSource)(t, outcome.sourceSignal);
    } catch (err) {
      outcome.fail(`cannot read the source: ${messageOf(err)}`);
      return null;
    }
    let batch: OutgoingPart[] = [];
    let expected = 0;
    // A source that waits for its bytes (a member's upload) has the parts gathered so far posted now.
    let flushing: Promise<void> = Promise.resolve();
    source.onWaiting?.(() => {
      if (batch.length === 0 || outcome.stopped()) return;
      const gathered = batch;
      batch = [];
      flushing = flushing.then(() => this.#sender.dispatch(gathered));
      // Seen by the loop (or after it); marked handled here so a source that waits long is no unhandled rejection.
      flushing.catch(() => undefined);
    });
    try {
      for await (const part of source) {
        await flushing;
        if (outcome.stopped()) break;
        if (part.index !== expected) throw new Error(`source yielded part ${part.index}, expected ${expected}`);
        expected++;
        if (t.total_chunks !== null && part.index >= t.total_chunks) {
          outcome.fail(`source changed: it has more than the ${t.total_chunks} planned parts`);
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
            outcome.fail(`source changed: part ${part.index} differs from the posted ${known.name}`);
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
        // A full message goes at once: a source that waits for room (a send's staging) must not wait behind it.
        if (packBatches([...batch, { size: t.chunk_size_bytes }], maxChunksPerMessage).length > 1) {
          await this.#sender.dispatch(batch);
          batch = [];
        }
      }
      await flushing;
      if (!outcome.stopped()) await this.#sender.dispatch(batch);
    } catch (err) {
      // A run that failed or paused stopped its source itself: its own note says why.
      if (outcome.stoppedItself()) {
        // nothing to add
      } else if (outcome.signal.aborted || isAbortError(err)) outcome.abort();
      else if (err instanceof SourceChangedError) outcome.fail(`source changed: ${err.message}`);
      else outcome.fail(`read error: ${messageOf(err)}`);
    }
    await this.#sender.drain();
    if (!outcome.stopped() && t.total_chunks !== null && expected !== t.total_chunks) {
      outcome.fail(`source changed: it ended after ${expected} of ${t.total_chunks} planned parts`);
    }
    return source;
  }

  async #recordFound(part: SourcePart, name: string, posted: PostedPart): Promise<void> {
    const record = toRecord({ index: part.index, name, offset: part.offset, size: part.size, sha256: part.sha256 }, posted);
    await this.#record.save((draft) => addPart(draft, record));
    this.#reporter.partFound(part.index, posted.message_id);
  }

  /** Writes the end state of a run that did not complete. */
  async #finish(): Promise<StoredTransfer> {
    if (this.#current.status === 'complete') return this.#current;
    const ending = this.#outcome.ending(this.#current, this.#abortStatus());
    this.#reporter.ending();
    await this.#record.save(ending.change);
    this.#reporter.ended(ending, this.#current, this.#outcome.paused, this.#outcome.failure);
    return this.#current;
  }
}
