/**
 * Sending the parts of one run: at most `maxParallelUploads` messages with the destination at
 * once, and one more streaming meanwhile with its end held back (pipeline.ts); the reader
 * waits until the pipeline admits its next message, which is the backpressure that keeps
 * memory flat. Each message is retried with backoff and recorded once the destination
 * confirmed every part in it. A message that fails does not throw: its failure and its
 * attempts land in the run's outcome.
 */
import { heldBackIn, HeldBackError, messageOf, RetryFailure } from '../errors.js';
import { addPart, toRecord } from './part-records.js';
import type { RetryPolicy } from './retry-policy.js';
import type { RunReporter } from './reporter.js';
import type { RunOutcome } from './run-outcome.js';
import type { RunRecord } from './run-record.js';
import { MessagePipeline, type PipelineMessage } from './pipeline.js';
import type { ChunkSink, OutgoingPart, PostedPart } from './sink.js';

/** Who the sender works with: the destination, the run's record, its retry policy, its reporter and its outcome. */
export interface SenderCollaborators {
  sink: ChunkSink;
  record: RunRecord;
  retries: RetryPolicy;
  reporter: RunReporter;
  outcome: RunOutcome;
  now: () => Date;
}

export interface SenderLimits {
  maxParallelUploads: number; // messages with the destination at once
  /** How long a message may stay held, its request open, while one before it is sent again (pipeline.ts); default: as long as that takes. */
  holdForRetryMs?: number | undefined;
}

/** Held-back tries of one message, each caused by an attempt of a message before it: bounded by theirs. */
const MAX_HELD_BACK = 10_000;

export class PartSender {
  readonly #run: SenderCollaborators;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #pipeline: MessagePipeline;

  constructor(run: SenderCollaborators, limits: SenderLimits) {
    this.#run = run;
    this.#pipeline = new MessagePipeline(limits.maxParallelUploads, run.outcome.signal, limits.holdForRetryMs);
  }

  /** Waits until the pipeline admits the message (the reader pauses meanwhile: backpressure), then sends it in the background. */
  async dispatch(batch: OutgoingPart[]): Promise<void> {
    if (batch.length === 0) return;
    const message = await this.#pipeline.admit();
    if (message === null) return;
    if (this.#run.outcome.stopped()) {
      message.finish(false);
      return;
    }
    const indices = batch.map((p) => p.index);
    this.#run.reporter.inFlight(indices, true);
    let posted = false;
    const task: Promise<void> = this.#send(batch, message)
      .then((ok) => {
        posted = ok;
      })
      .finally(() => {
        message.finish(posted);
        this.#inFlight.delete(task);
        this.#run.reporter.inFlight(indices, false);
      });
    this.#inFlight.add(task);
  }

  /** Resolves once every message in flight has settled. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Sends one message with retries; never rejects. True once it is posted and recorded. */
  async #send(batch: OutgoingPart[], message: PipelineMessage): Promise<boolean> {
    const { sink, record, retries, reporter, outcome, now } = this.#run;
    const first = batch[0]!;
    const nonce = `${record.id.slice('upload_'.length)}.${first.index}`;
    const indices = batch.map((p) => p.index);
    let attempts = 0;
    let startedAt = now().getTime();
    // One attempt, after any tries held back because a message before it had to be sent again first.
    const attempt = async (): Promise<PostedPart[]> => {
      for (let held = 0; ; held++) {
        if (message.mustResend) await message.waitToResend();
        if (outcome.stopped()) throw new HeldBackError('the transfer stopped before this message was sent');
        attempts++;
        startedAt = now().getTime();
        try {
          return await sink.sendParts(record.current, batch, { signal: outcome.signal, nonce, attempt: attempts, completion: message });
        } catch (err) {
          // Held back, its request may still end another way (its own timeout while it waited).
          if (!heldBackIn(err) && !message.heldBack) {
            message.attemptFailed();
            throw err;
          }
          // Never completed, so never created: not an attempt.
          attempts--;
          if (!outcome.stopped()) reporter.heldBack(first.index);
          if (held >= MAX_HELD_BACK) throw err;
        }
      }
    };
    try {
      const { value: posted } = await retries.run(attempt, (err, attemptNo, delayMs) => reporter.messageRetry(batch, err, attemptNo, delayMs));
      const latency = now().getTime() - startedAt;
      const byIndex = new Map(posted.map((p) => [p.index, p]));
      const unanswered = batch.filter((p) => !byIndex.has(p.index));
      if (unanswered.length > 0) {
        outcome.noteAttempts(indices, attempts);
        outcome.fail(`the destination did not confirm ${unanswered.map((p) => p.name).join(', ')}`);
        return false;
      }
      await record.save((draft) => {
        for (const part of batch) {
          addPart(draft, toRecord(part, byIndex.get(part.index)!));
          draft.chunk_attempts[String(part.index)] = (draft.chunk_attempts[String(part.index)] ?? 0) + attempts;
        }
        draft.retries += attempts - 1;
      });
      reporter.messagePosted(batch, latency, attempts);
      return true;
    } catch (err) {
      outcome.noteAttempts(indices, attempts);
      const cause = err instanceof RetryFailure ? err.cause : err;
      const names = batch.map((p) => p.name).join(', ');
      // Held back for good: the run stopped (a failure before it is the run's note), else say so.
      if (heldBackIn(cause)) {
        if (outcome.signal.aborted) outcome.abort();
        else if (!outcome.stopped()) outcome.fail(`sending ${names}: ${messageOf(cause)}`);
        return false;
      }
      const refused = batch.map((p) => `${p.name} (${p.size} bytes)`).join(', ');
      outcome.failWith(cause, `sending ${names}`, `the destination refused ${refused} as too large`, attempts);
      return false;
    }
  }
}
