/**
 * Runs the bot's transfers: one orchestrator run per transfer, its AbortController and the
 * grace an upload in flight gets, start, cancel, resume, start-up recovery and shutdown. The
 * slash commands (and any other front end) talk only to this. It knows nothing of Discord:
 * where parts go is a ChunkSink, how progress is shown a ProgressView, and deleting posted
 * parts a function it is given.
 *
 * A member's MAX_ACTIVE_TRANSFERS slot is claimed at the check (slots.ts).
 *
 * A run the disk stops (the progress file cannot be written) ends `interrupted`, paused; the
 * store keeps trying the write, and once one succeeds the paused transfers start again.
 */
import type { Logger } from '../log.js';
import { sourceNames, type LogRedactions } from '../log.js';
import type { Metrics } from '../metrics/types.js';
import { SinkError, UnknownTransferError } from '../errors.js';
import type { NewTransfer, ProgressStore, StoredTransfer } from '../store/types.js';
import { fileTransfer, sendTransfer, urlTransfer, type NewTransferOptions } from './new-transfer.js';
import type { SendUploads } from '../send/uploads.js';
import { runTransfer, type OrchestratorConfig } from './orchestrator.js';
import type { ProgressView } from './progress-view.js';
import { measureRate } from './rate.js';
import { markInterrupted, resumableAtStart } from './resume/recovery.js';
import { ActiveSlots, type Reservation } from './slots.js';
import { withUploadSignal, type ChunkSink, type PostedMessage } from './sink.js';
import { cleanUpCancelled } from './cancel-cleanup.js';
import type { LocalSource } from './source.js';
import type { UrlInfo } from './url/headers.js';
import { urlRunHooks } from './resume/url-checkpoints.js';
import type { UrlPartSourceOptions } from './url/source.js';

/**
 * A stop (cancel or shutdown) lets the upload in flight finish this long before cutting it:
 * an upload cut after its body arrived may still be stored by Discord, and we want its answer.
 */
const IN_FLIGHT_GRACE_MS = 5_000;

export interface RunnerDeps {
  store: ProgressStore;
  sink: ChunkSink;
  log: Logger;
  progress: ProgressView;
  /** Deletes posted part messages for `/cancel delete_posted`, each in its own channel. */
  deletePosted: (transfer: StoredTransfer, messages: readonly PostedMessage[]) => Promise<{ deleted: number; failed: number }>;
  orchestrator: OrchestratorConfig;
  /** What a URL source needs besides its signal (UPLOAD_ALLOWED_HOSTS, the size and speed limits). */
  url: Omit<UrlPartSourceOptions, 'signal'>;
  /** Present when METRICS_PORT is set; handed to every run. */
  metrics?: Metrics | undefined;
  /** LOG_REDACT_FILENAMES: each new transfer's names are registered here before it is recorded. */
  redactions?: LogRedactions | undefined;
  /** Files sent from members' computers (/send): their staging, present when the web page is on. */
  send?: SendUploads | undefined;
}

interface Run {
  /** Stops dispatch: no new message, no retry. */
  controller: AbortController;
  /** Cuts the request in flight; fires IN_FLIGHT_GRACE_MS after `controller`. */
  hardStop: AbortController;
  /** What an abort means for this run: a user's /cancel or a shutdown. */
  abortStatus: 'cancelled' | 'interrupted';
  done: Promise<StoredTransfer | undefined>;
  startedAt: number;
  bytesAtStart: number;
  latest: StoredTransfer | undefined;
  /** The transfer has ended; the run is only showing its end state and saving its last checkpoint. */
  settling: boolean;
  /** A /resume that came while settling: start again once settled. */
  restart: boolean;
  /** Parts in messages on their way. */
  inFlight: Set<number>;
}

/** Where a new transfer goes, once its slot is reserved. */
export type NewTransferInput = Omit<NewTransferOptions, 'id'> & { slot: Reservation };

export class TransferRunner {
  readonly #deps: RunnerDeps;
  readonly #runs = new Map<string, Run>();
  /** Transfers whose run stopped because the progress file could not be written. */
  readonly #paused = new Set<string>();
  readonly #slots: ActiveSlots;
  #stopping = false;
  /** Aborted by `shutdown`: a stop does not wait for the retries of a progress edit (the next start makes it). */
  readonly #shutdown = new AbortController();

  constructor(deps: RunnerDeps) {
    this.#deps = deps;
    this.#slots = new ActiveSlots(deps.store);
    deps.store.onWritable(() => this.#resumePaused());
  }

  /** The owner's unfinished transfers, recorded or reserved (slots.ts). */
  activeCount(ownerId: string): number {
    return this.#slots.activeCount(ownerId);
  }

  /** Checks the owner's room and claims a slot in one synchronous step (see the top of this file). Null when the owner is at `limit`. */
  reserve(ownerId: string, limit: number): Reservation | null {
    return this.#slots.reserve(ownerId, limit);
  }

  createFileTransfer(input: NewTransferInput & { source: LocalSource }): Promise<StoredTransfer> {
    const { slot, source, ...options } = input;
    return this.#record(fileTransfer({ ...options, id: slot.id }, source), source.relPath);
  }

  /** A `/upload` transfer: the size and total are null when the server gave no Content-Length. */
  createUrlTransfer(input: NewTransferInput & { url: string; info: UrlInfo }): Promise<StoredTransfer> {
    const { slot, url, info, ...options } = input;
    // The name as the server sent it, before sanitizing.
    return this.#record(urlTransfer({ ...options, id: slot.id }, url, info), info.name);
  }

  /** A file sent from a member's computer (/send): its bytes arrive by tus while it runs. */
  createSendTransfer(input: NewTransferInput & { name: string; size: number }): Promise<StoredTransfer> {
    const { slot, name, size, ...options } = input;
    return this.#record(sendTransfer({ ...options, id: slot.id }, name, size), name);
  }

  /** Records a new transfer, its names (`given`: as its source gave it) registered for LOG_REDACT_FILENAMES first. */
  #record(record: NewTransfer, given: string): Promise<StoredTransfer> {
    this.#deps.redactions?.add(given, record.file_name, ...sourceNames(record.source));
    return this.#deps.store.create(record);
  }

  /** Whether a run is still moving the transfer (one that has ended and is only settling is not). */
  isRunning(id: string): boolean {
    const run = this.#runs.get(id);
    return run !== undefined && !run.settling;
  }

  /** Whether a run will move the transfer: one running, or one settling that a /resume starts again once settled. */
  resuming(id: string): boolean {
    const run = this.#runs.get(id);
    return run !== undefined && (!run.settling || run.restart);
  }

  /** The transfers with a run, settling ones included. */
  runningIds(): string[] {
    return [...this.#runs.keys()];
  }

  /** Parts of a running transfer in messages on their way (none when it is not running). */
  inFlight(id: string): number[] {
    return [...(this.#runs.get(id)?.inFlight ?? [])];
  }

  /** Whether the run of a transfer sent from a member's computer is waiting for the sender's bytes (a while, see send/uploads.ts). */
  waiting(id: string): boolean {
    return this.isRunning(id) && (this.#deps.send?.isWaiting(id) ?? false);
  }

  /** For a transfer sent from a member's computer: the bytes of the file the bot has received, when it knows. */
  receivedBytes(id: string): number | null {
    return this.#deps.send?.receivedBytes(id) ?? null;
  }

  /** Bytes per second of the current run, for /status. */
  throughput(id: string): number | null {
    const run = this.#runs.get(id);
    if (!run?.latest) return null;
    return measureRate(run.latest, run.startedAt, run.bytesAtStart).bytesPerSecond;
  }

  /**
   * Starts (or resumes) a transfer in the background; its end is logged, never thrown. A run
   * that has ended but is still settling (its final edit on its way) starts again once settled:
   * the record already says `error`, and a /resume then must not be refused as "running".
   */
  start(id: string): void {
    if (this.#stopping) return;
    const current = this.#runs.get(id);
    if (current) {
      if (current.settling) current.restart = true;
      return;
    }
    const transfer = this.#deps.store.get(id);
    if (!transfer) throw new UnknownTransferError(id);
    // Started again (by /resume or by the disk freeing up): a new pause re-registers it.
    this.#paused.delete(id);
    const run: Run = {
      controller: new AbortController(),
      hardStop: new AbortController(),
      abortStatus: 'cancelled',
      done: Promise.resolve(undefined),
      startedAt: Date.now(),
      bytesAtStart: transfer.bytes_done,
      latest: transfer,
      settling: false,
      restart: false,
      inFlight: new Set(),
    };
    this.#runs.set(id, run);
    run.done = this.#run(id, run)
      .catch((error: unknown) => {
        this.#deps.log.error({ err: error, transfer_id: id }, 'transfer run failed unexpectedly');
        return this.#deps.store.get(id);
      })
      .finally(() => {
        this.#runs.delete(id);
        if (run.restart) this.start(id);
        // The disk may have freed up while this run was settling its pause.
        this.#resumePaused();
      });
  }

  /** Starts the transfers a refused progress write paused, once the store writes again. */
  #resumePaused(): void {
    if (this.#stopping || this.#deps.store.refusal !== undefined) return;
    for (const id of this.#paused) {
      if (this.#runs.has(id)) continue; // still settling: looked at again when it ends
      this.#paused.delete(id);
      // Cancelled or finished meanwhile: nothing to resume.
      if (this.#deps.store.get(id)?.status !== 'interrupted') continue;
      this.#deps.log.info({ event: 'transfer_resumed', transfer_id: id }, 'the progress file can be written again: resuming');
      this.start(id);
    }
  }

  /** Waits for a running transfer to settle (tests and shutdown). */
  async settled(id: string): Promise<StoredTransfer | undefined> {
    return (await this.#runs.get(id)?.done) ?? this.#deps.store.get(id);
  }

  async cancel(id: string, options: { deletePosted: boolean }): Promise<{ transfer: StoredTransfer; deleted: number; deleteFailures: number }> {
    const { store, log } = this.#deps;
    const run = this.#runs.get(id);
    if (run) {
      run.abortStatus = 'cancelled';
      run.restart = false;
      this.#stop(run, new SinkError('cancelled by a user', 'aborted', 'cancelled'));
      await run.done;
    }
    let transfer = store.get(id);
    if (!transfer) throw new UnknownTransferError(id);
    if (transfer.status !== 'cancelled' && transfer.status !== 'complete') {
      transfer = await store.setStatus(id, 'cancelled', `cancelled at ${new Date().toISOString()}`);
      log.info({ transfer_id: id, event: 'transfer_cancelled' }, 'transfer_cancelled');
      await this.#deps.progress.showEnd(transfer, undefined, this.#shutdown.signal);
    }
    await this.#deps.send?.ended(transfer);
    return cleanUpCancelled(this.#deps, transfer, { cutShort: run?.hardStop.signal.aborted ?? false, deletePosted: options.deletePosted });
  }

  /** Start-up, before connecting: what a crash left running is interrupted, not running (resume/recovery.ts). */
  markInterrupted(): Promise<string[]> {
    return markInterrupted(this.#deps.store);
  }

  /**
   * After connecting, with AUTO_RESUME: resume every interrupted transfer, and start those a
   * crash caught between being recorded and starting (`pending`). Not those this process
   * paused on a refused progress write: they resume when the disk takes a write again.
   */
  resumeInterrupted(): string[] {
    const ids = resumableAtStart(this.#deps.store).filter((id) => !this.#paused.has(id) && !this.#runs.has(id));
    for (const id of ids) this.start(id);
    return ids;
  }

  /** After connecting (and resuming): finished transfers whose end was never shown get it now. */
  showMissedEndStates(): Promise<string[]> {
    return this.#deps.progress.repairEnds((id) => this.#runs.has(id), this.#shutdown.signal);
  }

  /** SIGTERM/SIGINT: stop dispatch, let in-flight requests settle, mark runs interrupted. */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    this.#shutdown.abort();
    const runs = [...this.#runs.values()];
    for (const run of runs) {
      run.abortStatus = 'interrupted';
      this.#stop(run, new SinkError('the bot is shutting down', 'aborted', 'shutdown'));
    }
    await Promise.allSettled(runs.map((r) => r.done));
  }

  #stop(run: Run, reason: SinkError): void {
    run.controller.abort(reason);
    const timer = setTimeout(() => run.hardStop.abort(reason), IN_FLIGHT_GRACE_MS);
    timer.unref();
    void run.done.finally(() => clearTimeout(timer));
  }

  /** A send's messages hold no more parts than its staging lets wait (SendUploads.partsPerMessage). */
  #sendConfig(transfer: StoredTransfer, send: SendUploads): OrchestratorConfig {
    const configured = this.#deps.orchestrator.maxChunksPerMessage;
    return { ...this.#deps.orchestrator, maxChunksPerMessage: send.partsPerMessage(transfer, configured) };
  }

  async #run(id: string, run: Run): Promise<StoredTransfer | undefined> {
    const { store, sink, log, progress } = this.#deps;
    const transfer = store.get(id);
    if (!transfer) return undefined;
    const display = await progress.begin(transfer, run.controller.signal);
    // URL sources (/upload) and sends bring their own reader and save resume checkpoints as parts are confirmed.
    const show = (t: StoredTransfer) =>
      display?.update(t, measureRate(t, run.startedAt, run.bytesAtStart), { waitingForSender: this.#deps.send?.isWaiting(id) ?? false });
    const url =
      transfer.source.kind === 'url'
        ? urlRunHooks({ store, log, options: this.#deps.url })
        : transfer.source.kind === 'send'
          ? // Waiting for the sender changes nothing in the record: the display hears of it here.
            (this.#deps.send?.runHooks(() => {
              if (run.latest && !run.settling) show(run.latest);
            }) ?? null)
          : null;
    const final = await runTransfer(
      {
        store,
        sink: withUploadSignal(sink, run.hardStop.signal),
        log,
        openSource: url?.openSource,
        metrics: this.#deps.metrics,
        config: transfer.source.kind === 'send' && this.#deps.send ? this.#sendConfig(transfer, this.#deps.send) : this.#deps.orchestrator,
        onPaused: () => this.#paused.add(id),
        // From here the record says how it ended: a /resume must not be refused as "running".
        onEnding: () => {
          run.settling = true;
        },
        onInFlight: (indices, inFlight) => {
          for (const index of indices) {
            if (inFlight) run.inFlight.add(index);
            else run.inFlight.delete(index);
          }
        },
        onProgress: (t) => {
          run.latest = t;
          url?.onProgress(t);
          show(t);
        },
      },
      id,
      { signal: run.controller.signal, abortStatus: () => run.abortStatus },
    );
    run.latest = final;
    run.settling = true;
    // A send's staged bytes go once it has ended, not after its end is shown (retried through an outage, its threads archived).
    await this.#deps.send?.ended(final);
    await display?.stop();
    await progress.showEnd(final, measureRate(final, run.startedAt, run.bytesAtStart), this.#shutdown.signal);
    await url?.flush();
    return final;
  }
}
