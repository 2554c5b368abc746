/**
 * Sending the parts of one run: at most `maxParallelUploads` messages with the destination at
 * once, and one more streaming meanwhile with its end held back (pipeline.ts); the reader waits
 * for a turn, which is the backpressure that keeps memory flat. Each message is retried with
 * backoff and recorded once the destination confirmed every part in it. A message that fails
 * does not throw: its failure and its attempts land in the run's outcome.
 */
import { heldBackIn, HeldBackError, messageOf, RetryFailure, SinkError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/types.js';
import type { TransferRecord } from '../store/schema.js';
import type { StoredTransfer } from '../store/types.js';
import { readFailure, reasonOf } from './failure.js';
import { addPart, toRecord } from './part-records.js';
import type { Random } from '../time/backoff.js';
import type { Sleep } from '../time/sleep.js';
import { retry, type RetryOptions } from './retry.js';
import type { RunOutcome } from './run-outcome.js';
import { UploadPipeline, type Turn } from './pipeline.js';
import type { ChunkSink, OutgoingPart, PostedPart } from './sink.js';

/** What the sender needs of its run. */
export interface SendContext {
  id: string;
  sink: ChunkSink;
  log: Logger;
  metrics?: Metrics | undefined;
  signal: AbortSignal;
  outcome: RunOutcome;
  retryLimit: number;
  backoffBaseMs: number;
  maxParallelUploads: number;
  /** How long a message may stay held, its request open, while one before it is sent again (pipeline.ts); default: as long as that takes. */
  holdForRetryMs?: number | undefined;
  random?: Random | undefined;
  sleep?: Sleep | undefined;
  now: () => Date;
  /** The run's current record. */
  record: () => StoredTransfer;
  /** The run's write: a refusal of the disk pauses the run instead of throwing. */
  save: (change: (draft: TransferRecord) => void) => Promise<void>;
  /** Told when a message's parts go out and when they settle (the dashboard's part map). */
  onInFlight?: ((indices: readonly number[], inFlight: boolean) => void) | undefined;
}

/** The retry policy of every request of a run: transient sink failures, until the run fails or pauses. */
export function runRetryOptions(ctx: SendContext, onRetry: (err: unknown, attempt: number, delayMs: number) => void): RetryOptions {
  return {
    limit: ctx.retryLimit,
    baseMs: ctx.backoffBaseMs,
    retryable: (err: unknown) => err instanceof SinkError && err.kind === 'transient',
    signal: ctx.signal,
    random: ctx.random,
    sleep: ctx.sleep,
    onRetry,
    // Once the transfer has failed or paused, other batches stop retrying and settle.
    stop: () => ctx.outcome.stopsRetries(),
  };
}

/** Reads a failure of `doing` into the run's outcome: an abort, or the note that ends the run. */
export function noteFailure(ctx: SendContext, err: unknown, doing: string, tooLarge?: string, attempts?: number): void {
  const reading = readFailure(err, { doing, signal: ctx.signal, tooLarge, attempts });
  if (reading.aborted) ctx.outcome.abort();
  else ctx.outcome.fail(reading.note);
}

/** Held-back tries of one message, each caused by an attempt of a message before it: bounded by theirs. */
const MAX_HELD_BACK = 10_000;

export class PartSender {
  readonly #ctx: SendContext;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #pipeline: UploadPipeline;

  constructor(ctx: SendContext) {
    this.#ctx = ctx;
    this.#pipeline = new UploadPipeline(ctx.maxParallelUploads, ctx.signal, ctx.holdForRetryMs);
  }

  /** Waits for its turn (the reader pauses meanwhile: backpressure), then sends in the background. */
  async dispatch(batch: OutgoingPart[]): Promise<void> {
    if (batch.length === 0) return;
    const turn = await this.#pipeline.enter();
    if (turn === null) return;
    if (this.#ctx.outcome.settled(this.#ctx.signal)) {
      turn.leave(false);
      return;
    }
    const indices = batch.map((p) => p.index);
    this.#ctx.onInFlight?.(indices, true);
    let ok = false;
    const task: Promise<void> = this.#send(batch, turn)
      .then((sent) => {
        ok = sent;
      })
      .finally(() => {
        turn.leave(ok);
        this.#inFlight.delete(task);
        this.#ctx.onInFlight?.(indices, false);
      });
    this.#inFlight.add(task);
  }

  /** Resolves once every message in flight has settled. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Sends one message with retries; never rejects. True once it is posted and recorded. */
  async #send(batch: OutgoingPart[], turn: Turn): Promise<boolean> {
    const ctx = this.#ctx;
    const first = batch[0]!;
    const nonce = `${ctx.id.slice('upload_'.length)}.${first.index}`;
    const indices = batch.map((p) => p.index);
    let attempts = 0;
    let startedAt = ctx.now().getTime();
    // One attempt, after any tries held back because a message before it had to be sent again first.
    const attempt = async (): Promise<PostedPart[]> => {
      for (let held = 0; ; held++) {
        if (turn.again) await turn.restart();
        if (ctx.outcome.settled(ctx.signal)) throw new HeldBackError('the transfer stopped before this message was sent');
        attempts++;
        startedAt = ctx.now().getTime();
        try {
          return await ctx.sink.sendParts(ctx.record(), batch, { signal: ctx.signal, nonce, attempt: attempts, hold: turn });
        } catch (err) {
          // Held back, its request may still end another way (its own timeout while it waited).
          if (!heldBackIn(err) && !turn.heldBack) {
            turn.failed();
            throw err;
          }
          // Never completed, so never created: not an attempt.
          attempts--;
          if (!ctx.outcome.settled(ctx.signal)) {
            ctx.log.info({ event: 'chunk_held_back', transfer_id: ctx.id, chunk: first.index }, 'held back: a message before it is sent again first');
          }
          if (held >= MAX_HELD_BACK) throw err;
        }
      }
    };
    try {
      const { value: posted } = await retry(
        attempt,
        runRetryOptions(ctx, (err, attemptNo, delayMs) => {
          // One retry per extra attempt of the message, as `retries` in the progress file counts them.
          ctx.metrics?.retry(reasonOf(err));
          for (const part of batch) {
            ctx.log.warn(
              { event: 'chunk_retry', transfer_id: ctx.id, chunk: part.index, attempt: attemptNo, reason: reasonOf(err), delay_ms: delayMs },
              'chunk_retry',
            );
          }
        }),
      );
      const latency = ctx.now().getTime() - startedAt;
      const byIndex = new Map(posted.map((p) => [p.index, p]));
      const unanswered = batch.filter((p) => !byIndex.has(p.index));
      if (unanswered.length > 0) {
        ctx.outcome.noteAttempts(indices, attempts);
        ctx.outcome.fail(`the destination did not confirm ${unanswered.map((p) => p.name).join(', ')}`);
        return false;
      }
      await ctx.save((draft) => {
        for (const part of batch) {
          addPart(draft, toRecord(part, byIndex.get(part.index)!));
          draft.chunk_attempts[String(part.index)] = (draft.chunk_attempts[String(part.index)] ?? 0) + attempts;
        }
        draft.retries += attempts - 1;
      });
      for (const part of batch) {
        ctx.log.info({ event: 'chunk_ok', transfer_id: ctx.id, chunk: part.index, latency_ms: latency, attempts }, 'chunk_ok');
        ctx.metrics?.partPosted(part.size, latency / 1000);
      }
      return true;
    } catch (err) {
      ctx.outcome.noteAttempts(indices, attempts);
      const cause = err instanceof RetryFailure ? err.cause : err;
      const names = batch.map((p) => p.name).join(', ');
      // Held back for good: the run stopped (a failure before it is the run's note), else say so.
      if (heldBackIn(cause)) {
        if (ctx.signal.aborted) ctx.outcome.abort();
        else if (!ctx.outcome.settled(ctx.signal)) ctx.outcome.fail(`sending ${names}: ${messageOf(cause)}`);
        return false;
      }
      const refused = batch.map((p) => `${p.name} (${p.size} bytes)`).join(', ');
      noteFailure(ctx, cause, `sending ${names}`, `the destination refused ${refused} as too large`, attempts);
      return false;
    }
  }
}
