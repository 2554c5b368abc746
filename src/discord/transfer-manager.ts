/**
 * Runs the bot's transfers: one orchestrator run per transfer, its AbortController, its
 * progress message, start-up recovery and shutdown. The commands talk only to this.
 *
 * A run the disk stops (the progress file cannot be written) ends `interrupted`, paused; the
 * store keeps trying the write, and once one succeeds the paused transfers start again.
 */
import { Routes, type REST } from 'discord.js';
import type { Config } from '../config.js';
import { sourceNames, type LogRedactions, type Logger } from '../log.js';
import type { Metrics } from '../metrics/types.js';
import { DiskWriteError, SinkError } from '../errors.js';

import type { NewTransfer, ProgressStore, StoredTransfer } from '../store/types.js';
import type { ChunkSink } from '../transfer/sink.js';
import { newTransferId, sanitizeName, totalChunks } from '../transfer/plan.js';
import type { LocalSource } from '../transfer/source.js';
import { runTransfer } from '../transfer/orchestrator.js';
import { ACTIVE_STATUSES } from '../store/state.js';
import { retry } from '../transfer/retry.js';
import type { UrlInfo } from '../transfer/url/headers.js';
import { urlLimits } from '../transfer/url/speed.js';
import { urlRunHooks } from '../transfer/resume/url.js';
import { classifyRestError } from './classify.js';
import { measureRate, renderProgress, ThrottledEditor } from './progress.js';

/**
 * A stop (cancel or shutdown) lets the upload in flight finish this long before cutting it:
 * an upload cut after its body arrived may still be stored by Discord, and we want its answer.
 */
const IN_FLIGHT_GRACE_MS = 5_000;

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
}

export interface TransferManagerDeps {
  config: Config;
  store: ProgressStore;
  rest: REST;
  sink: ChunkSink;
  log: Logger;
  /** Present when METRICS_PORT is set; handed to every orchestrator run. */
  metrics?: Metrics | undefined;
  /** LOG_REDACT_FILENAMES: each new transfer's names are registered here before it is recorded. */
  redactions?: LogRedactions | undefined;
}

/** A member's claim on one of their MAX_ACTIVE_TRANSFERS, held from the check until the transfer is recorded. */
export interface Reservation {
  /** The id the transfer is recorded under. */
  readonly id: string;
  /** Gives the slot back; harmless once the transfer is recorded (the record counts then). */
  release(): void;
}

/** What every new transfer needs besides its source. */
interface NewTransferInput {
  slot: Reservation;
  chunkSize: number;
  attachmentSizeLimit: number | null;
  ownerId: string;
  channelId: string;
  guildId: string | null;
}

export class TransferManager {
  readonly #runs = new Map<string, Run>();
  /** Transfers whose run stopped because the progress file could not be written. */
  readonly #paused = new Set<string>();
  /** Reserved transfer id → owner, for commands between their limit check and their record. */
  readonly #reserved = new Map<string, string>();
  #stopping = false;
  /** Aborted by `shutdown`: a stop does not wait for the retries of a progress edit (the next start makes it). */
  readonly #shutdown = new AbortController();

  constructor(private readonly deps: TransferManagerDeps) {
    deps.store.onWritable(() => this.#resumePaused());
  }

  /** The owner's unfinished transfers: recorded ones, plus reserved ones not recorded yet. */
  activeCount(ownerId: string): number {
    const recorded = this.deps.store.summaries().filter((t) => t.owner_id === ownerId && ACTIVE_STATUSES.includes(t.status)).length;
    let reserved = 0;
    for (const [id, owner] of this.#reserved) if (owner === ownerId && !this.deps.store.get(id)) reserved++;
    return recorded + reserved;
  }

  /**
   * Checks the owner's room and claims a slot in one synchronous step: a command awaits (defer,
   * URL check, fsync) before its record exists, and a check alone would let simultaneous
   * commands all pass. Null when the owner is at `limit`.
   */
  reserve(ownerId: string, limit: number): Reservation | null {
    if (this.activeCount(ownerId) >= limit) return null;
    const id = newTransferId();
    this.#reserved.set(id, ownerId);
    return { id, release: () => void this.#reserved.delete(id) };
  }

  async createFileTransfer(input: NewTransferInput & { source: LocalSource }): Promise<StoredTransfer> {
    const { source, chunkSize } = input;
    return this.#create(input, {
      source: { kind: 'file', path: source.relPath, real_path: source.realPath, size: source.size, mtime_ms: source.mtimeMs },
      name: source.relPath,
      file_size: source.size,
      total_chunks: totalChunks(source.size, chunkSize),
    });
  }

  /** A `/upload` transfer: the size and total are null when the server gave no Content-Length. */
  async createUrlTransfer(input: NewTransferInput & { url: string; info: UrlInfo }): Promise<StoredTransfer> {
    const { info, chunkSize } = input;
    // The name as the server sent it, before sanitizeName.
    this.deps.redactions?.add(info.name);
    return this.#create(input, {
      source: { kind: 'url', url: input.url, etag: info.etag, last_modified: info.lastModified, accepts_ranges: info.acceptsRanges, hash_checkpoint: null },
      name: info.name,
      file_size: info.size,
      total_chunks: info.size === null ? null : totalChunks(info.size, chunkSize),
    });
  }

  /** `name`: the source's own name, sanitized here because an unusable one gives way to the id. */
  #create(input: NewTransferInput, { name, ...what }: Pick<NewTransfer, 'source' | 'file_size' | 'total_chunks'> & { name: string }): Promise<StoredTransfer> {
    const id = input.slot.id;
    const fileName = sanitizeName(name, id);
    this.deps.redactions?.add(name, fileName, ...sourceNames(what.source));
    return this.deps.store.create({
      id,
      file_name: fileName,
      ...what,
      chunk_size_bytes: input.chunkSize,
      attachment_size_limit: input.attachmentSizeLimit,
      owner_id: input.ownerId,
      guild_id: input.guildId,
      channel_id: input.channelId,
    });
  }

  /** Whether a run is still moving the transfer (one that has ended and is only settling is not). */
  isRunning(id: string): boolean {
    const run = this.#runs.get(id);
    return run !== undefined && !run.settling;
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
    const transfer = this.deps.store.get(id);
    if (!transfer) throw new Error(`unknown transfer ${id}`);
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
    };
    this.#runs.set(id, run);
    run.done = this.#run(id, run)
      .catch((error: unknown) => {
        this.deps.log.error({ err: error, transfer_id: id }, 'transfer run failed unexpectedly');
        return this.deps.store.get(id);
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
    if (this.#stopping || this.deps.store.refusal !== undefined) return;
    for (const id of this.#paused) {
      if (this.#runs.has(id)) continue; // still settling: looked at again when it ends
      this.#paused.delete(id);
      // Cancelled or finished meanwhile: nothing to resume.
      if (this.deps.store.get(id)?.status !== 'interrupted') continue;
      this.deps.log.info({ event: 'transfer_resumed', transfer_id: id }, 'the progress file can be written again: resuming');
      this.start(id);
    }
  }

  /** Waits for a running transfer to settle (tests and shutdown). */
  async settled(id: string): Promise<StoredTransfer | undefined> {
    return (await this.#runs.get(id)?.done) ?? this.deps.store.get(id);
  }

  async cancel(id: string, options: { deletePosted: boolean }): Promise<{ transfer: StoredTransfer; deleted: number; deleteFailures: number }> {
    const run = this.#runs.get(id);
    if (run) {
      run.abortStatus = 'cancelled';
      run.restart = false;
      this.#stop(run, new SinkError('cancelled by a user', 'aborted', 'cancelled'));
      await run.done;
    }
    let transfer = this.deps.store.get(id);
    if (!transfer) throw new Error(`unknown transfer ${id}`);
    if (transfer.status !== 'cancelled' && transfer.status !== 'complete') {
      transfer = await this.deps.store.setStatus(id, 'cancelled', `cancelled at ${new Date().toISOString()}`);
      this.deps.log.info({ transfer_id: id, event: 'transfer_cancelled' }, 'transfer_cancelled');
      await this.#showEndState(transfer, renderProgress(transfer));
    }
    // An upload cut after its body arrived may still have been stored: look for it in the channel.
    const cutShort = run?.hardStop.signal.aborted ?? false;
    const stray = cutShort || options.deletePosted ? await this.#unrecordedMessages(transfer) : [];
    if (stray.length > 0 && !options.deletePosted) {
      transfer = await this.deps.store.update(id, (t) => {
        t.notes.push(`Discord stored part message(s) ${stray.join(', ')} after the upload was cut; they are not in the manifest`);
      });
    }
    let deleted = 0;
    let deleteFailures = 0;
    if (options.deletePosted) {
      const messageIds = [...new Set([...transfer.parts.map((p) => p.message_id), ...stray])];
      for (const messageId of messageIds) {
        try {
          await this.deps.rest.delete(Routes.channelMessage(transfer.channel_id, messageId));
          deleted++;
        } catch (error) {
          const failure = classifyRestError(error);
          // Already gone counts as deleted.
          if (failure.reason === 'http_404') deleted++;
          else {
            deleteFailures++;
            this.deps.log.warn({ err: error, transfer_id: id, message_id: messageId }, 'could not delete a part message');
          }
        }
      }
      transfer = await this.deps.store.update(id, (t) => {
        t.notes.push(`deleted ${deleted} posted part message(s)${deleteFailures ? `; ${deleteFailures} failed` : ''}`);
      });
    }
    return { transfer, deleted, deleteFailures };
  }

  /** Part messages in the channel that the record does not know (best effort: none when the channel cannot be read). */
  async #unrecordedMessages(transfer: StoredTransfer): Promise<string[]> {
    if (!this.deps.sink.reconcile) return [];
    try {
      const { found } = await this.deps.sink.reconcile(transfer, AbortSignal.timeout(30_000));
      const recorded = new Set(transfer.parts.map((p) => p.message_id));
      return [...new Set(found.map((p) => p.message_id))].filter((m) => !recorded.has(m));
    } catch (error) {
      this.deps.log.warn({ err: error, transfer_id: transfer.id }, 'could not look for unrecorded part messages');
      return [];
    }
  }

  /** Start-up, before connecting: what a crash left running is interrupted, not running. */
  async markInterrupted(): Promise<string[]> {
    const ids: string[] = [];
    for (const t of this.deps.store.summaries()) {
      if (t.status === 'in_progress') {
        await this.deps.store.setStatus(t.id, 'interrupted', `interrupted: the bot stopped at ${t.updated_at} while it ran`);
        ids.push(t.id);
      }
    }
    return ids;
  }

  /**
   * After connecting, with AUTO_RESUME: resume every interrupted transfer, and start those a
   * crash caught between being recorded and starting (`pending`). Not those this process
   * paused on a refused progress write: they resume when the disk takes a write again.
   */
  resumeInterrupted(): string[] {
    const ids = this.deps.store
      .summaries()
      .filter((t) => t.status === 'interrupted' || t.status === 'pending')
      .map((t) => t.id)
      .filter((id) => !this.#paused.has(id) && !this.#runs.has(id));
    for (const id of ids) this.start(id);
    return ids;
  }

  /**
   * After connecting (and resuming): the progress messages of transfers not running whose
   * edit with the end state never landed (a REST outage, a stop) get it now.
   */
  async showMissedEndStates(): Promise<string[]> {
    const missed = this.deps.store.list().filter((t) => !t.progress_edit_landed && t.progress_message_id !== null);
    const shown: string[] = [];
    for (const { id } of missed) {
      const transfer = this.deps.store.get(id);
      // A /resume may have started it meanwhile: its own edits say more.
      if (!transfer || this.#runs.has(id)) continue;
      await this.#showEndState(transfer, renderProgress(transfer));
      shown.push(id);
    }
    return shown;
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

  async #run(id: string, run: Run): Promise<StoredTransfer | undefined> {
    const { config, store, sink, log } = this.deps;
    let transfer = store.get(id);
    if (!transfer) return undefined;
    const editor = await this.#progressEditor(transfer);
    // URL sources (/upload) bring their own reader and save resume checkpoints as parts are confirmed.
    const url = transfer.source.kind === 'url'
      ? urlRunHooks({ store, log, options: { allowedHosts: config.UPLOAD_ALLOWED_HOSTS, maxFileSize: config.MAX_FILE_SIZE_BYTES, ...urlLimits(config) } })
      : null;
    const final = await runTransfer(
      {
        store,
        sink: withUploadSignal(sink, run.hardStop.signal),
        log,
        openSource: url?.openSource,
        metrics: this.deps.metrics,
        config: {
          maxChunksPerMessage: config.MAX_CHUNKS_PER_MESSAGE,
          maxParallelUploads: config.MAX_PARALLEL_UPLOADS,
          retryLimit: config.RETRY_LIMIT_PER_CHUNK,
          backoffBaseMs: config.RETRY_BACKOFF_BASE_MS,
          maxFileSizeBytes: config.MAX_FILE_SIZE_BYTES,
        },
        onPaused: () => this.#paused.add(id),
        onProgress: (t) => {
          run.latest = t;
          url?.onProgress(t);
          editor?.update(renderProgress(t, measureRate(t, run.startedAt, run.bytesAtStart)));
        },
      },
      id,
      { signal: run.controller.signal, abortStatus: () => run.abortStatus },
    );
    transfer = final;
    run.latest = final;
    run.settling = true;
    await editor?.stop();
    await this.#showEndState(final, renderProgress(final, measureRate(final, run.startedAt, run.bytesAtStart)));
    await url?.flush();
    return final;
  }

  /** The transfer's own progress message, posted once and edited from then on. */
  async #progressEditor(transfer: StoredTransfer): Promise<ThrottledEditor | null> {
    let messageId = transfer.progress_message_id;
    if (!messageId) {
      try {
        const message = (await this.deps.rest.post(Routes.channelMessages(transfer.channel_id), {
          body: { content: renderProgress(transfer) },
        })) as { id: string };
        messageId = message.id;
        await this.deps.store
          .update(transfer.id, (t) => {
            t.progress_message_id = message.id;
          })
          .catch((error: unknown) => {
            // Kept in memory until the disk allows; the run pauses at its own first write.
            if (!(error instanceof DiskWriteError && error.kept)) throw error;
          });
      } catch (error) {
        // The transfer itself will meet the same refusal and end with a note; don't stop here.
        this.deps.log.warn({ err: error, transfer_id: transfer.id }, 'could not post the progress message');
        return null;
      }
    }
    const edit = async (content: string) => {
      try {
        await this.#editProgress(transfer.channel_id, messageId, content);
      } catch (error) {
        this.deps.log.warn({ err: error, transfer_id: transfer.id }, 'could not edit the progress message');
      }
    };
    return new ThrottledEditor(edit, this.deps.config.PROGRESS_EDIT_INTERVAL_MS);
  }

  async #editProgress(channelId: string, messageId: string, content: string): Promise<void> {
    await this.deps.rest.patch(Routes.channelMessage(channelId, messageId), { body: { content } });
  }

  /**
   * The edit that shows how a transfer ended, retried with backoff so that a REST blip cannot
   * leave "uploading 20%" behind for good; whether it landed is recorded for the next start.
   */
  async #showEndState(transfer: StoredTransfer, content: string): Promise<void> {
    const { config, store, log } = this.deps;
    const messageId = transfer.progress_message_id;
    if (!messageId) return;
    let landed = true;
    try {
      await retry(() => this.#editProgress(transfer.channel_id, messageId, content), {
        limit: config.RETRY_LIMIT_PER_CHUNK,
        baseMs: config.RETRY_BACKOFF_BASE_MS,
        retryable: (error) => classifyRestError(error).kind === 'transient',
        signal: this.#shutdown.signal,
      });
    } catch (error) {
      landed = false;
      log.warn({ err: error, transfer_id: transfer.id }, 'could not show the end state in the progress message; the next start will');
    }
    if (store.get(transfer.id)?.progress_edit_landed === !landed) {
      await store
        .update(transfer.id, (t) => {
          t.progress_edit_landed = landed;
        })
        .catch((error: unknown) => log.warn({ err: error, transfer_id: transfer.id }, 'could not record the progress edit'));
    }
  }
}

/** The sink with `signal` replaced by the run's hard stop, so a stop lets the upload in flight answer. */
function withUploadSignal(sink: ChunkSink, signal: AbortSignal): ChunkSink {
  return {
    sendParts: (transfer, parts, options) => sink.sendParts(transfer, parts, { ...options, signal }),
    sendManifest: (transfer, manifest, options) => sink.sendManifest(transfer, manifest, { ...options, signal }),
    ...(sink.reconcile ? { reconcile: (transfer: StoredTransfer) => sink.reconcile!(transfer, signal) } : {}),
  };
}
