/**
 * The messages of one run on their way, in dispatch order (README, 'What survives what'). At most
 * `parallel` (MAX_PARALLEL_UPLOADS) of them are with Discord at once: completed, waiting for
 * the answer. Meanwhile one more may stream its body, holding back its last bytes until it may
 * complete, so the link does not sit idle for a round trip and Discord's processing time after
 * each message. A message may complete once every message before it has, and fewer than
 * `parallel` of those are unanswered: with one at a time (the default), only after the answer
 * to the one before, so Discord creates them in order. "Completing" a message is sending the
 * last bytes of its request (the multipart body's closing boundary): Discord creates the
 * message only then.
 *
 * When a message's attempt fails it is sent again, and the messages after it that have not
 * completed stay as they are, their requests open with their end held, until it has been
 * answered: their bytes already went, and cutting them off would send them all again. They
 * wait so at most `holdForRetryMs` from the first failure of a message before them (a
 * connection held idle that long may be dropped on the way anyway); then, or once a message
 * before them is given up, they are held back (HeldBackError): their requests stop before
 * their end, and they are sent again once the messages before them have completed. A sink
 * that never says its body was sent (`bodySent`) gets no overlap: the next message starts when
 * this one leaves, as before.
 */
import { HeldBackError } from '../errors.js';
import { abortReason } from '../time/sleep.js';
import type { CompletionGate } from './sink.js';

/**
 * Where a message is: its body streaming; its body sent but for its end, waiting to complete;
 * completed (with Discord, waiting for the answer); or to be sent again (`resend`).
 */
type State = 'streaming' | 'body_sent' | 'completed' | 'resend';

/** Rounds of waiting a message may go through; each is woken by a change of some message, which are finitely many. */
const MAX_ROUNDS = 1_000_000;

export class MessagePipeline {
  readonly #messages: PipelineMessage[] = [];
  readonly #waiters = new Set<() => void>();

  /** `holdForRetryMs`: how long a message may stay held while one before it is sent again (Infinity: for as long as that takes). */
  constructor(
    readonly parallel: number,
    readonly signal: AbortSignal,
    readonly holdForRetryMs = Number.POSITIVE_INFINITY,
  ) {
    signal.addEventListener('abort', () => this.changed(), { once: true });
  }

  /** Waits until a new message may start streaming; null once the run stopped dispatching. */
  async admit(): Promise<PipelineMessage | null> {
    try {
      await this.until(() => this.#messages.length <= this.parallel && this.#count('streaming', 'resend') < this.parallel);
    } catch {
      return null;
    }
    const message = new PipelineMessage(this);
    this.#messages.push(message);
    return message;
  }

  /** The messages before `message`, oldest first. */
  before(message: PipelineMessage): PipelineMessage[] {
    return this.#messages.slice(0, this.#messages.indexOf(message));
  }

  after(message: PipelineMessage): PipelineMessage[] {
    return this.#messages.slice(this.#messages.indexOf(message) + 1);
  }

  count(...states: State[]): number {
    return this.#count(...states);
  }

  remove(message: PipelineMessage): void {
    const at = this.#messages.indexOf(message);
    if (at >= 0) this.#messages.splice(at, 1);
    this.changed();
  }

  changed(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Resolves once `ready()` holds (checked on every change); rejects when `fail()` throws or the run stops dispatching. */
  until(ready: () => boolean, fail: () => void = () => undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let rounds = 0;
      const check = () => {
        try {
          if (this.signal.aborted) throw abortReason(this.signal);
          fail();
          if (!ready()) {
            if (++rounds > MAX_ROUNDS) throw new Error('a message waited for its turn too long');
            return;
          }
          this.#waiters.delete(check);
          resolve();
        } catch (error) {
          this.#waiters.delete(check);
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  #count(...states: State[]): number {
    return this.#messages.filter((m) => states.includes(m.state)).length;
  }
}

/** One message's place in the pipeline, from `admit` to `finish`; the sender drives it, and hands it to the sink as the message's completion gate. */
export class PipelineMessage implements CompletionGate {
  state: State = 'streaming';
  /** Set when this one must not complete before it is sent again: held too long for a failed message before it, or that one was given up. */
  #heldBack = false;
  /** Failed, and not completed since: the messages after it wait while it is sent again. */
  #resending = false;
  /** Ends this one's wait for a failed message before it (see `holdForRetryMs`). */
  #waitLimit: NodeJS.Timeout | undefined;

  constructor(private readonly pipeline: MessagePipeline) {}

  get signal(): AbortSignal {
    return this.pipeline.signal;
  }

  throwIfHeldBack(): void {
    if (this.pipeline.signal.aborted)
      throw new HeldBackError('the transfer stopped before this message was completed', { cause: this.pipeline.signal.reason });
    if (this.#heldBack) throw new HeldBackError('a message before this one has to be sent again first');
  }

  bodySent(): void {
    if (this.state !== 'streaming') return;
    this.state = 'body_sent';
    this.pipeline.changed();
  }

  async waitToComplete(): Promise<void> {
    if (this.state === 'completed') return;
    this.bodySent();
    try {
      await this.pipeline.until(
        () => {
          const before = this.pipeline.before(this);
          return before.every((m) => m.state === 'completed') && before.length < this.pipeline.parallel;
        },
        () => this.throwIfHeldBack(),
      );
    } catch (error) {
      throw error instanceof HeldBackError ? error : new HeldBackError('the transfer stopped before this message was completed', { cause: error });
    }
    this.state = 'completed';
    this.#resending = false;
    this.#clearWaitLimit();
    this.pipeline.changed();
  }

  /** Whether it must wait for `waitToResend` before it is sent again. */
  get mustResend(): boolean {
    return this.state === 'resend';
  }

  /** Held back before Discord got its end (see `#heldBack`): whatever its request meets now, it was never created. */
  get heldBack(): boolean {
    return this.#heldBack;
  }

  /** This message's attempt failed: it is sent again, and the messages after it that have not completed stay held meanwhile, within a bound. */
  attemptFailed(): void {
    this.state = 'resend';
    this.#resending = true;
    for (const m of this.pipeline.after(this)) m.#limitWaitForResend();
    this.pipeline.changed();
  }

  /** Before sending it again: waits until every message before it has completed and the link has room. */
  async waitToResend(): Promise<void> {
    await this.pipeline.until(() => {
      const before = this.pipeline.before(this);
      return before.every((m) => m.state === 'completed') && this.pipeline.count('streaming') < this.pipeline.parallel;
    });
    this.state = 'streaming';
    this.#heldBack = false;
    this.pipeline.changed();
  }

  /** Answered and recorded (`posted`) or given up: it leaves; a message given up holds back those after it. */
  finish(posted: boolean): void {
    this.#clearWaitLimit();
    if (!posted) for (const m of this.pipeline.after(this)) m.#holdBack();
    this.pipeline.remove(this);
  }

  /** Not completed: it must be sent again, so its request stops before its end (`throwIfHeldBack` throws). */
  #holdBack(): void {
    if (this.state === 'completed') return;
    this.#clearWaitLimit();
    this.state = 'resend';
    this.#heldBack = true;
  }

  /** A message before this one failed: from now on this one stays held at most `holdForRetryMs`, counted from the first such failure. */
  #limitWaitForResend(): void {
    const ms = this.pipeline.holdForRetryMs;
    if (this.state === 'completed' || this.#heldBack || this.#waitLimit !== undefined || !Number.isFinite(ms)) return;
    this.#waitLimit = setTimeout(() => {
      this.#waitLimit = undefined;
      // Once every failed message before it has been sent again, waiting is the ordinary hold.
      if (!this.pipeline.before(this).some((m) => m.#resending)) return;
      this.#holdBack();
      this.pipeline.changed();
    }, ms);
    this.#waitLimit.unref();
  }

  #clearWaitLimit(): void {
    clearTimeout(this.#waitLimit);
    this.#waitLimit = undefined;
  }
}
