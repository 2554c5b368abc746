/**
 * What one run tells the world: its log lines (their `event` names are stable: README,
 * 'Logs'), the /metrics counters, and its caller's callbacks (progress, parts in flight, a
 * pause, its end). The engine's other files say what happened; this one says it.
 */
import type { DiskWriteError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/types.js';
import type { StoredTransfer } from '../store/types.js';
import { reasonOf } from './failure.js';
import type { RunEnding } from './run-outcome.js';
import type { OutgoingPart } from './sink.js';

/** The caller's callbacks; each is optional. */
export interface RunCallbacks {
  /** Called with the saved record after every progress write. */
  onProgress?: ((transfer: StoredTransfer) => void) | undefined;
  /** Called once when the disk refuses a progress write and the run pauses. */
  onPaused?: ((error: DiskWriteError) => void) | undefined;
  /**
   * Called just before the run writes its end state (`complete` or not), so that from the
   * moment the record leaves `in_progress` its caller knows the run is only settling.
   */
  onEnding?: (() => void) | undefined;
  /** Told when a message's parts go out and when they settle (the dashboard's part map). */
  onInFlight?: ((indices: readonly number[], inFlight: boolean) => void) | undefined;
}

export class RunReporter {
  constructor(
    private readonly id: string,
    readonly log: Logger,
    private readonly metrics: Metrics | undefined,
    private readonly callbacks: RunCallbacks,
  ) {}

  started(record: StoredTransfer, resumed: boolean): void {
    this.log.info(
      {
        event: 'transfer_started',
        transfer_id: this.id,
        total_chunks: record.total_chunks,
        file_size: record.file_size,
        parts_done: record.parts.length,
        resumed,
      },
      'transfer_started',
    );
  }

  progress(record: StoredTransfer): void {
    try {
      this.callbacks.onProgress?.(record);
    } catch (err) {
      this.log.warn({ transfer_id: this.id, err }, 'progress callback failed');
    }
  }

  paused(error: DiskWriteError): void {
    this.callbacks.onPaused?.(error);
  }

  ending(): void {
    this.callbacks.onEnding?.();
  }

  inFlight(indices: readonly number[], inFlight: boolean): void {
    this.callbacks.onInFlight?.(indices, inFlight);
  }

  /** A recorded part whose message is gone (resume/reconcile.ts). */
  partMissing(index: number, messageId: string): void {
    this.log.warn(
      { event: 'chunk_missing', transfer_id: this.id, chunk: index, message_id: messageId },
      'posted part is gone; it will be sent again',
    );
  }

  /** A part posted by an earlier run but never recorded, recorded now. */
  partFound(index: number, messageId: string): void {
    this.log.info(
      { event: 'chunk_found', transfer_id: this.id, chunk: index, message_id: messageId },
      'posted part recorded without sending it again',
    );
  }

  /** One retry per extra attempt of the message, as `retries` in the progress file counts them; a line per part. */
  messageRetry(parts: readonly OutgoingPart[], err: unknown, attempt: number, delayMs: number): void {
    this.metrics?.retry(reasonOf(err));
    for (const part of parts) {
      this.log.warn(
        { event: 'chunk_retry', transfer_id: this.id, chunk: part.index, attempt, reason: reasonOf(err), delay_ms: delayMs },
        'chunk_retry',
      );
    }
  }

  /** A message whose request stopped before its end, to be sent again after the one before it. */
  heldBack(firstIndex: number): void {
    this.log.info({ event: 'chunk_held_back', transfer_id: this.id, chunk: firstIndex }, 'held back: a message before it is sent again first');
  }

  messagePosted(parts: readonly OutgoingPart[], latencyMs: number, attempts: number): void {
    for (const part of parts) {
      this.log.info({ event: 'chunk_ok', transfer_id: this.id, chunk: part.index, latency_ms: latencyMs, attempts }, 'chunk_ok');
      this.metrics?.partPosted(part.size, latencyMs / 1000);
    }
  }

  manifestRetry(err: unknown, attempt: number, delayMs: number): void {
    this.metrics?.retry(reasonOf(err));
    this.log.warn(
      { event: 'chunk_retry', transfer_id: this.id, chunk: 'manifest', attempt, reason: reasonOf(err), delay_ms: delayMs },
      'chunk_retry',
    );
  }

  manifestFound(messageId: string): void {
    this.log.info({ event: 'manifest_found', transfer_id: this.id, message_id: messageId }, 'posted manifest recorded without posting it again');
  }

  /** The commit point passed: the manifest is posted and the record says `complete`. */
  complete(done: { bytes: number; parts: number; manifestMessageId: string; startedAt: string | null; completedAt: string }): void {
    const startedAt = done.startedAt ? Date.parse(done.startedAt) : Number.NaN;
    this.log.info(
      {
        event: 'transfer_complete',
        transfer_id: this.id,
        bytes: done.bytes,
        parts: done.parts,
        manifest_message_id: done.manifestMessageId,
        ...(Number.isNaN(startedAt) ? {} : { duration_ms: Date.parse(done.completedAt) - startedAt }),
      },
      'transfer_complete',
    );
  }

  /** A bug or a store that cannot write: the run still ends, as `error`. */
  unexpected(err: unknown): void {
    this.log.error({ event: 'transfer_error', transfer_id: this.id, err }, 'unexpected failure');
  }

  /** The end of a run that did not complete (run-outcome.ts). */
  ended(ending: RunEnding, record: StoredTransfer, paused: DiskWriteError | null, failure: string | null): void {
    const partsDone = record.parts.length;
    if (ending.kind === 'aborted') {
      this.log.info({ event: 'transfer_cancelled', transfer_id: this.id, status: record.status, parts_done: partsDone }, 'transfer_cancelled');
    } else if (ending.kind === 'paused' && paused !== null) {
      this.log.warn(
        { event: 'transfer_paused', transfer_id: this.id, reason: paused.condition, code: paused.errno, parts_done: partsDone },
        'transfer_paused',
      );
    } else {
      this.log.error({ event: 'transfer_error', transfer_id: this.id, reason: failure ?? undefined }, 'transfer_error');
    }
  }
}
